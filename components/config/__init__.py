"""Stack configuration: `mesh:*` keys -> frozen, typed objects, or one `ConfigError`.

- `models`: every key a stack may set, with its type, default and rule (types carry the rules).
- `errors`: `ConfigError` and how pydantic's errors become `mesh:<key> = <value>: <rule>` lines.
- `loading`: reading the keys Pulumi passes and parsing them (`parse_stack_config`).
- `images`: which image each service runs (pulled or built), read once, and its rules.
- `rules`: rules that span several keys or depend on the environment.
"""
