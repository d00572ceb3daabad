package main

// schema is the minimal package schema GetSchema returns: the one resource this stand-in has.
const schema = `{
  "name": "random",
  "version": "4.21.4",
  "description": "Stand-in for pulumi-random in the local e2e harness: RandomPassword only.",
  "resources": {
    "random:index/randomPassword:RandomPassword": {
      "inputProperties": {
        "length": {"type": "integer"},
        "lower": {"type": "boolean"},
        "upper": {"type": "boolean"},
        "numeric": {"type": "boolean"},
        "number": {"type": "boolean", "deprecationMessage": "use numeric"},
        "special": {"type": "boolean"},
        "overrideSpecial": {"type": "string"},
        "minLower": {"type": "integer"},
        "minUpper": {"type": "integer"},
        "minNumeric": {"type": "integer"},
        "minSpecial": {"type": "integer"},
        "keepers": {"type": "object", "additionalProperties": {"type": "string"}}
      },
      "requiredInputs": ["length"],
      "properties": {
        "length": {"type": "integer"},
        "lower": {"type": "boolean"},
        "upper": {"type": "boolean"},
        "numeric": {"type": "boolean"},
        "number": {"type": "boolean"},
        "special": {"type": "boolean"},
        "overrideSpecial": {"type": "string"},
        "minLower": {"type": "integer"},
        "minUpper": {"type": "integer"},
        "minNumeric": {"type": "integer"},
        "minSpecial": {"type": "integer"},
        "keepers": {"type": "object", "additionalProperties": {"type": "string"}},
        "result": {"type": "string", "secret": true},
        "bcryptHash": {"type": "string", "secret": true}
      },
      "required": ["length", "lower", "upper", "numeric", "number", "special",
                   "minLower", "minUpper", "minNumeric", "minSpecial", "result", "bcryptHash"]
    }
  }
}`
