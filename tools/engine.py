"""Run the real `__main__.py` for a stack under Pulumi's mock engine and record what it declares.

The mock engine stands in for the Pulumi CLI and the cluster: every resource registration
reaches `RecordingMonitor`, which keeps the inputs, parent, dependencies, provider and options
exactly as `pulumi preview` would see them. The mocks return inputs as outputs and invent
nothing else.
"""

from __future__ import annotations

import contextvars
import copy
import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pulumi
import yaml
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.stack import Stack
from pulumi.runtime.sync_await import _sync_await

# The marker Pulumi's wire format puts on secret values (pulumi/runtime/rpc.py).
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"

ROOT = Path(__file__).resolve().parents[1]
MAIN = ROOT / "__main__.py"
STACKS = ("dev", "staging", "prod")
"""The stacks this repository keeps, one per environment (components.config.models.ENVIRONMENTS; the
engine imports nothing of the program at import time, so it can evaluate another checkout, and a
test keeps the two equal)."""


@dataclass
class Registered:
    """One resource registration as the engine received it."""

    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    custom: bool
    parent: str
    dependencies: list[str]
    provider: str
    ignore_changes: list[str]
    transforms: int = 0
    secret_paths: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """'Deployment' for kubernetes:apps/v1:Deployment."""
        return self.type.rsplit(":", 1)[-1]

    def manifest(self) -> dict[str, Any]:
        """The Kubernetes object this resource declares, numbers as the provider sends them
        (the wire format has only doubles: 4000.0 -> 4000)."""
        return _ints({k: v for k, v in self.inputs.items() if not k.startswith("__")})


def _ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value


RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"


class RecordingMocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == RANDOM_PASSWORD:
            # The random provider computes `result`; stand in with a value of the requested length
            # so chart values carry a string where a real run has one.
            return f"{args.name}-id", {**args.inputs, "result": "r" * int(args.inputs["length"])}
        return f"{args.name}-id", args.inputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        raise AssertionError(f"the program made an unexpected provider call: {args.token}")


class RecordingMonitor(MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.records: list[Registered] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            props = rpc.deserialize_properties(request.object)
            self.records.append(
                Registered(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    inputs=_reveal(props),
                    custom=request.custom,
                    parent=request.parent,
                    dependencies=list(request.dependencies),
                    provider=request.provider,
                    ignore_changes=list(request.ignoreChanges),
                    transforms=len(request.transforms),
                    secret_paths=sorted(k for k, v in props.items() if _has_secret(v)),
                )
            )
        return response


def _reveal(value: Any) -> Any:
    """Unwrap secret markers so tests read the values (`secret_paths` keeps which were secret)."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == SECRET_SIG:
            return _reveal(value["value"])
        return {k: _reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_reveal(v) for v in value]
    return value


def _has_secret(value: Any) -> bool:
    """Whether a deserialized input holds a Pulumi secret anywhere inside."""
    if isinstance(value, dict):
        return value.get(rpc._special_sig_key) == SECRET_SIG or any(_has_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_secret(v) for v in value)
    return False


@dataclass
class Evaluation:
    stack: str
    resources: list[Registered]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    error: Optional[BaseException] = None

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def top_level(self) -> list[Registered]:
        """Resources whose parent is the stack itself."""
        return [r for r in self.resources if r.parent.endswith("pulumi:pulumi:Stack::mesh-" + self.stack)]

    def by_urn(self, urn: str) -> Registered:
        return next(r for r in self.resources if r.urn == urn)

    def charts(self) -> dict[str, Registered]:
        """Helm charts by release name."""
        return {r.inputs["name"]: r for r in self.of_type("kubernetes:helm.sh/v4:Chart")}

    def kubernetes_objects(self) -> list[Registered]:
        """Every built-in Kubernetes object the program itself declares (not charts, not custom resources)."""
        return [
            r for r in self.resources
            if r.type.startswith("kubernetes:") and not r.type.startswith("kubernetes:helm.sh")
            and ".istio.io/" not in r.type and "cert-manager.io/" not in r.type
        ]

    def istio_resources(self) -> list[Registered]:
        """Istio custom resources (PeerAuthentication, Telemetry, AuthorizationPolicy, Gateway, ...)."""
        return [r for r in self.resources if ".istio.io/" in r.type]


class StackFileError(ValueError):
    """A stack file the Pulumi CLI would refuse: one line naming the file, the line and the problem."""


class _StrictLoader(yaml.SafeLoader):
    """YAML as the Pulumi CLI reads a stack file: a key defined twice in one mapping is an error
    (the CLI's YAML library refuses it), not the last value silently winning."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"key {key!r} is defined twice", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_stack_file(path: Path) -> dict[str, Any]:
    """A stack file's document, or StackFileError naming the file and line (tabs, duplicate keys, syntax)."""
    try:
        doc = yaml.load(path.read_text(), Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{path.name}:{mark.line + 1}" if mark else path.name
        raise StackFileError(f"{where}: {err.problem or err.context}") from None
    except OSError as err:
        raise StackFileError(f"{path}: {err.strerror}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("config") or {}, dict):
        raise StackFileError(f"{path.name}: expected a mapping with a `config:` mapping")
    if _expanded_size(doc) > MAX_EXPANDED:
        raise StackFileError(f"{path.name}: expands to more than {MAX_EXPANDED} values (YAML aliases?); "
                             "a stack file needs no aliases")
    return doc


MAX_EXPANDED = 100_000
"""Values a stack file may expand to. YAML aliases share one object, so a small file can stand for a
huge document (the "billion laughs"); the engine passes the program the expanded JSON."""


def _expanded_size(doc: Any) -> int:
    """Values in `doc` counted as the engine would expand them, stopping past MAX_EXPANDED."""
    count, stack = 0, [doc]
    while stack and count <= MAX_EXPANDED:
        item = stack.pop()
        count += 1
        stack.extend(item.values() if isinstance(item, dict) else item if isinstance(item, list) else [])
    return count


def stack_config(stack: str, root: Path = ROOT) -> dict[str, Any]:
    """The `config:` section of stacks/Pulumi.<stack>.yaml, namespace stripped, values decoded."""
    doc = read_stack_file(root / "stacks" / f"Pulumi.{stack}.yaml")
    return {k.partition(":")[2]: v for k, v in (doc.get("config") or {}).items()}


def merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `patch` into a copy of `base` (None deletes a key)."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def engine_config(config: dict[str, Any]) -> dict[str, str]:
    """What the Pulumi CLI passes the program: `mesh:<key>` -> string (objects JSON-encoded)."""
    return {f"mesh:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


def evaluate(stack: str, patch: Optional[dict[str, Any]] = None, config: Optional[dict[str, Any]] = None,
             *, secret: tuple[str, ...] = (), extra: Optional[dict[str, str]] = None, root: Path = ROOT) -> Evaluation:
    """Run __main__.py for `stack` (its YAML, deep-merged with `patch`) in a fresh context.

    `secret`: `mesh:*` keys (without namespace) to mark secret, as `pulumi config set --secret` does
    (with --path the CLI marks the whole top-level key). `extra`: more engine keys, verbatim
    (e.g. another namespace, or a flat key set without --path).
    """
    result = attempt(stack, patch, config, secret=secret, extra=extra, root=root)
    if result.error is not None:
        raise result.error
    return result


def attempt(stack: str, patch: Optional[dict[str, Any]] = None, config: Optional[dict[str, Any]] = None,
            *, secret: tuple[str, ...] = (), extra: Optional[dict[str, str]] = None, root: Path = ROOT) -> Evaluation:
    """Like evaluate, but returns the program's exception (if any) with what was registered before it.
    `root`: the program to run (a checkout of another commit: its `components` must come first on sys.path)."""
    raw = stack_config(stack, root) if config is None else config
    raw = merge(raw, patch or {})
    keys = [f"mesh:{k}" for k in secret]
    return contextvars.Context().run(_evaluate, stack, {**engine_config(raw), **(extra or {})}, keys,
                                     root / "__main__.py")


def _evaluate(stack: str, config: dict[str, str], secret_keys: list[str], main: Path = MAIN) -> Evaluation:
    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="mesh", stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(config, secret_keys)
    # A real `pulumi up` primes the monitor's feature list before the program runs
    # (pulumi/runtime/stack.py run_in_stack); the mock path does not, so transforms would be refused.
    _sync_await(pulumi.runtime.settings._load_monitor_feature_support())

    @pulumi.runtime.test
    def program():
        runpy.run_path(str(main), run_name="__main__")

    try:
        program()
    except Exception as err:  # noqa: BLE001 - handed to the caller to assert on
        return Evaluation(stack=stack, resources=monitor.records, outputs={}, secret_outputs=set(), error=err)
    root = pulumi.runtime.settings.get_root_resource()
    assert isinstance(root, Stack), "the mock engine always creates the Stack resource"
    outputs, secret = {}, set()
    for name, value in root.outputs.items():
        out = pulumi.Output.from_input(value)
        outputs[name] = _sync_await(out.future())
        if _sync_await(out.is_secret()):
            secret.add(name)
    return Evaluation(stack=stack, resources=monitor.records, outputs=outputs, secret_outputs=secret)
