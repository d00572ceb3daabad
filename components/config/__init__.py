"""Stack configuration: `mesh:*` keys -> frozen, typed objects, or one `ConfigError`.

- `models`: every key a stack may set, with its type, default and rule (types carry the rules).
- `errors`: `ConfigError` and how pydantic's errors become `mesh:<key> = <value>: <rule>` lines.
- `loading`: reading the keys Pulumi passes and parsing them (`parse_stack_config`).
- `rules`: rules that span several keys or depend on the environment.

This package imports nothing eagerly, so `components.plan` can use the models while the rules
use `components.plan`.
"""
