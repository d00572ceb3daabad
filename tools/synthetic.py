"""A synthetic call graph of any size, for the benchmark's scaling table."""

from __future__ import annotations

from typing import Any


def synthetic_topology(n: int) -> dict[str, Any]:
    """n services: one public gateway, a layered call graph (each calls up to two in the next layer)."""
    names = ["gateway"] + [f"svc{i:03d}" for i in range(1, n)]
    services = []
    for i, name in enumerate(names):
        calls = [names[j] for j in (2 * i + 1, 2 * i + 2) if j < n]
        ports = [{"protocol": "http", "port": 4000}, {"protocol": "grpc", "port": 5000}] if i == 0 else \
            [{"protocol": "grpc", "port": 5000}]
        services.append({"name": name, "ports": ports, "public": i == 0, "calls": calls})
    return {"services": services}
