"""In-cluster endpoints of the addons, from the names the charts really create (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from components.vocab.istio import service_host


@dataclass(frozen=True)
class Endpoint:
    """A Service the chart creates: name, namespace, port and the URL path its UI is served under."""

    service: str
    namespace: str
    port: int
    path: str = ""

    @property
    def host(self) -> str:
        return service_host(self.service, self.namespace)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    def local_url(self, local_port: int | None = None) -> str:
        """Where a browser opens it through `kubectl port-forward`."""
        return f"http://localhost:{local_port or self.port}{self.path or '/'}"

    def port_forward(self, local_port: int | None = None) -> str:
        """The command a person runs to open it from a laptop."""
        local = local_port or self.port
        return f"kubectl -n {self.namespace} port-forward svc/{self.service} {local}:{self.port}  # then open " \
               f"{self.local_url(local)}"
