"""What each environment allows: the one table both the config rules and the policy pack judge by.

`components.config.rules` refuses a stack that breaks its environment's row before anything is
registered; the policy pack reads the same rows from `policy/environments.json`, which `make docs`
writes from this table (a test keeps the two equal), so a resource that slips past the config (an
edited chart value, a hand-written manifest) meets the same rule. The README's table of rules is
generated from it too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

ENVIRONMENTS = ("dev", "staging", "prod")


def _rule(text: str) -> Any:
    return field(metadata={"rule": text})


@dataclass(frozen=True)
class Posture:
    """One environment's row; each field's `rule` is the rule as messages and the README state it."""

    strict_mtls: bool = _rule('STRICT mTLS is required mesh-wide (`mesh:istio.mtls`); no PeerAuthentication downgrades it.')
    anonymous_kiali: bool = _rule('Kiali may let anyone in (`mesh:observability.kiali.auth.strategy: anonymous`).')
    anonymous_grafana: bool = _rule(
        'Grafana may let anonymous users view dashboards (`mesh:observability.grafana.anonymousViewer`).')
    mutable_tags: bool = _rule(
        'Images may use the tag `latest` without a digest (`mesh:workloads.tag`, per-service `image.tag`).')
    max_sampling_percent: float = _rule('Highest trace sampling percentage (`mesh:istio.tracing.sampling`).')
    public_tls: bool = _rule('The public ingress must serve TLS (`mesh:ingress.tls`) when it is enabled.')
    view_only_without_rbac: bool = _rule(
        "Kiali must be view-only (`mesh:observability.kiali.viewOnly`) when every signed-in user acts as "
        "Kiali's own account (`auth.openid.disableRbac: true`).")
    scrape_from_anywhere: bool = _rule(
        'Metrics ports may admit any address (`0.0.0.0/0` in `mesh:observability.prometheus.scrapeFrom`).')
    alertmanager: bool = _rule('Alertmanager may be installed (`mesh:observability.prometheus.alertmanager`).')
    image_build: bool = _rule('Images may be built from source and loaded into kind (`mesh:workloads.build`).')
    implicit_context: bool = _rule("The kubeconfig's current context may be used (`mesh:kubernetes.context` unset).")
    end_of_life: bool = _rule(
        "Istio and Kubernetes minors past their end of life are accepted without `allowEndOfLife: true` "
        "(`mesh:istio`, `mesh:kubernetes`).")


POSTURES: dict[str, Posture] = {
    "dev": Posture(strict_mtls=False, anonymous_kiali=True, anonymous_grafana=True, mutable_tags=True,
                   max_sampling_percent=100.0, public_tls=False, view_only_without_rbac=False,
                   scrape_from_anywhere=True, alertmanager=False, image_build=True, implicit_context=True,
                   end_of_life=True),
    "staging": Posture(strict_mtls=True, anonymous_kiali=False, anonymous_grafana=False, mutable_tags=False,
                       max_sampling_percent=25.0, public_tls=True, view_only_without_rbac=True,
                       scrape_from_anywhere=False, alertmanager=True, image_build=False, implicit_context=False,
                       end_of_life=False),
    # Ref: https://istio.io/latest/docs/tasks/observability/distributed-tracing/sampling/ (sampling costs
    # proxy CPU and backend storage per traced request: prod keeps it low)
    "prod": Posture(strict_mtls=True, anonymous_kiali=False, anonymous_grafana=False, mutable_tags=False,
                    max_sampling_percent=5.0, public_tls=True, view_only_without_rbac=True,
                    scrape_from_anywhere=False, alertmanager=True, image_build=False, implicit_context=False,
                    end_of_life=False),
}


def rule_texts() -> dict[str, str]:
    """Field name -> the rule's text, in table order."""
    return {f.name: f.metadata["rule"] for f in fields(Posture)}


def as_json() -> dict[str, Any]:
    """The table as the policy pack reads it (policy/environments.json)."""
    return {env: asdict(p) for env, p in POSTURES.items()}
