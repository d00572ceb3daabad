"""The services of the mesh, their ports and who calls whom: data, not code paths.

Adding a service is one `Service(...)` entry in `MERCARI` (or in a stack's `mesh:topology`).
Every rule on the graph (known callers, no port clashes, unique names) is checked here.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal, Optional

from pydantic import Field

from components.vocab.fields import AppPort, RelativePath, ServiceName, Strict


class Port(Strict):
    """One Service port. `protocol` becomes the port name and Kubernetes `appProtocol`."""

    protocol: Literal["http", "grpc"]
    port: AppPort


class Service(Strict):
    """One microservice: its own namespace, ServiceAccount, Deployment and Service, all named `name`."""

    name: ServiceName
    ports: tuple[Port, ...] = Field(min_length=1)
    public: bool = Field(False, description="Reachable from the ingress gateway.")
    calls: tuple[str, ...] = Field((), description="Services this one calls.")
    dockerfile: Optional[RelativePath] = Field(
        None, description="Dockerfile in the source repository; unset = services/<name>/Dockerfile.")

    @property
    def dockerfile_path(self) -> str:
        return self.dockerfile or f"services/{self.name}/Dockerfile"

    def port(self, protocol: str) -> int | None:
        """The port number serving `protocol`, if any."""
        return next((p.port for p in self.ports if p.protocol == protocol), None)


class Topology(Strict):
    """The call graph. Edges point from caller to callee. `problems()` lists broken rules."""

    services: tuple[Service, ...] = Field(min_length=1)

    def problems(self) -> list[tuple[str, object, str]]:
        """Graph rules as (key path under the topology, bad value, rule); empty when valid."""
        names = [s.name for s in self.services]
        known, counts = set(names), Counter(names)
        out: list[tuple[str, object, str]] = []
        for i, svc in enumerate(self.services):
            key = f"services[{i}]"
            if counts[svc.name] > 1:
                out.append((f"{key}.name", svc.name, "service names must be unique; this one is declared twice"))
            numbers = [p.port for p in svc.ports]
            for n in sorted({n for n in numbers if numbers.count(n) > 1}):
                out.append((f"{key}.ports", n, f"port clash in '{svc.name}': each port number may appear once"))
            protocols = [p.protocol for p in svc.ports]
            for p in sorted({p for p in protocols if protocols.count(p) > 1}):
                out.append((f"{key}.ports", p, f"port clash in '{svc.name}': one port per protocol (port names)"))
            for callee in svc.calls:
                if callee == svc.name:
                    out.append((f"{key}.calls", callee, f"'{svc.name}' calls itself; list only other services"))
                elif callee not in known:
                    out.append((f"{key}.calls", callee, f"not a service; services: {', '.join(names)}"))
        return out

    def edges(self) -> set[tuple[str, str]]:
        """(caller, callee) pairs."""
        return {(s.name, c) for s in self.services for c in s.calls}

    def callers_of(self) -> dict[str, tuple[str, ...]]:
        """callee -> its callers, sorted; one pass over the graph."""
        callers: dict[str, list[str]] = {s.name: [] for s in self.services}
        for caller, callee in sorted(self.edges()):
            callers[callee].append(caller)
        return {k: tuple(v) for k, v in callers.items()}

    def public_services(self) -> tuple[Service, ...]:
        return tuple(s for s in self.services if s.public)


def _grpc(name: str, *calls: str, dockerfile: Optional[str] = None) -> Service:
    return Service(name=name, ports=(Port(protocol="grpc", port=5000),), calls=calls, dockerfile=dockerfile)


# Derived from the code at the pinned commit, not from its manifests (whose gateway Service names a grpc
# 5000 port nothing listens on): `python -m tools.mercari_topology <checkout> <commit>` re-derives it.
# Ref: https://github.com/mercari/mercari-microservices-example/blob/9363ec85558fc636ceb78b9c9902fc38b0dbf429/services/gateway/main.go
# (http.RunServer(ctx, 4000)); services/*/main.go and platform/db/main.go (grpc.RunServer(ctx, 5000, ...));
# the DialContext targets in services/*/grpc/grpc.go and services/gateway/http/http.go (the calls)
MERCARI = Topology(
    services=(
        Service(name="gateway", ports=(Port(protocol="http", port=4000),), public=True, calls=("authority", "catalog")),
        _grpc("authority", "customer"),
        _grpc("catalog", "customer", "item"),
        _grpc("customer", "db"),
        _grpc("item", "db"),
        _grpc("db", dockerfile="platform/db/Dockerfile"),
    )
)


def mermaid(topology: Topology) -> str:
    """A Mermaid flowchart of the call graph (the README embeds it; a test keeps it in sync)."""
    lines = ["flowchart LR", "  ingress([istio ingress gateway])"]
    for svc in topology.services:
        ports = ", ".join(f"{p.protocol} {p.port}" for p in svc.ports)
        lines.append(f"  {svc.name}[{svc.name}<br/>{ports}]")
    for svc in topology.public_services():
        lines.append(f"  ingress --> {svc.name}")
    for caller, callee in sorted(topology.edges()):
        lines.append(f"  {caller} --> {callee}")
    return "\n".join(lines)
