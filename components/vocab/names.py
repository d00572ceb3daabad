"""Names the program builds from config values, and the limits of the things that carry them (pure).

Each generated name has one home here, used by the code that declares it and by the config rule that
checks it (`components.config.rules`), so a value valid on its own cannot become a name the API
server, Helm or Grafana refuses.
"""

from __future__ import annotations

# Ref: https://github.com/helm/helm/blob/v3.19.0/pkg/chartutil/validate_name.go (maxReleaseNameLen)
HELM_RELEASE_MAX = 53
"""Helm release names: Helm refuses longer ones (the release's Secret name must stay a label)."""
# Ref: https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#dns-label-names
DNS_LABEL_MAX = 63
"""Service and Namespace names, label values, each label of a host name."""
DNS_NAME_MAX = 253
"""Host names and DNS-1123 subdomains (most object names)."""
# Ref: https://github.com/grafana/grafana/blob/v12.0.0/pkg/util/shortid_generator.go (MaxUIDLength)
GRAFANA_UID_MAX = 40
"""Grafana dashboard uids: Grafana refuses a dashboard with a longer uid."""


def istiod_release(revision: str) -> str:
    """The istiod chart's release name; the chart names istiod's Deployment and Service after it."""
    return "istiod" if not revision else f"istiod-{revision}"


def service_dashboard_uid(service: str) -> str:
    """The uid of a service's Grafana dashboard."""
    return f"mesh-service-{service}"


def dashboard_configmap(uid: str) -> str:
    """The ConfigMap that carries a dashboard to Grafana's sidecar (a DNS label: no truncation)."""
    return f"grafana-dashboard-{uid}"
