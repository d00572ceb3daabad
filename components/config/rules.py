"""Rules that span several keys or depend on the environment; each returns Problems, never raises."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

from pydantic import BaseModel

from components.config.errors import Problem, key_path
from components.config.images import image_problems
from components.config.models import BuildSource, Resources, StackConfig
from components.vocab import alert_windows
from components.vocab import istio_releases as releases
from components.vocab import kubernetes_releases as k8s_releases
from components.vocab import names as names_
from components.vocab.environments import ENVIRONMENTS, POSTURES
from components.vocab.fields import cpu_millis, duration_seconds, memory_bytes
from components.vocab.istio import CNI_NAMESPACE, ROOT_NAMESPACE

SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease", "default")
CERT_MANAGER_NAMESPACE = "cert-manager"
"""cert-manager's documented namespace, taken when the stack relies on cert-manager."""


def check_rules(cfg: StackConfig, today: date) -> list[Problem]:
    """Every cross-key rule, in a stable order (topology, resources, istio, addons, ingress, workloads);
    `today` decides what is past its end of life."""
    problems = [Problem(f"mesh:topology.{k}", v, rule) for k, v, rule in cfg.topology.problems()]
    problems += [p for key, res in resource_settings(cfg) for p in _resource_bounds(key, res)]
    problems += _environment_rules(cfg)
    problems += _posture_rules(cfg)
    problems += _istio_rules(cfg)
    problems += _version_rules(cfg)
    problems += _end_of_life_rules(cfg, today)
    problems += _observability_rules(cfg)
    problems += _credential_rules(cfg)
    problems += _ingress_rules(cfg)
    problems += _namespace_rules(cfg)
    problems += _host_rules(cfg)
    problems += _generated_name_rules(cfg)
    problems += _value_rules(cfg)
    problems += _workload_rules(cfg)
    return problems


def _generated_name_rules(cfg: StackConfig) -> list[Problem]:
    """Names the program builds on a value, each within the limit of what carries it."""
    istio = cfg.istio
    names = [("mesh:istio.revision", istio.revision, names_.istiod_release(istio.revision),
              names_.HELM_RELEASE_MAX, "istiod's Helm release name")]
    if istio.canary:
        names.append(("mesh:istio.canary.revision", istio.canary.revision,
                      names_.istiod_release(istio.canary.revision), names_.HELM_RELEASE_MAX,
                      "the canary istiod's Helm release name"))
    if cfg.observability.grafana.enabled:
        for i, svc in enumerate(cfg.topology.services):
            uid = names_.service_dashboard_uid(svc.name)
            names.append((f"mesh:topology.services[{i}].name", svc.name, uid, names_.GRAFANA_UID_MAX,
                          "its Grafana dashboard uid"))
            names.append((f"mesh:topology.services[{i}].name", svc.name, names_.dashboard_configmap(uid),
                          names_.DNS_LABEL_MAX, "its dashboard's ConfigMap name"))
    return [Problem(key, value, f"too long: {what} '{name}' would be {len(name)} characters; at most {limit}")
            for key, value, name, limit, what in names if len(name) > limit]


def _value_rules(cfg: StackConfig) -> list[Problem]:
    """Values that parse but cannot work."""
    prom, out = cfg.observability.prometheus, []
    shortest = alert_windows.WINDOWS[0]
    longest_scrape = alert_windows.window_seconds(shortest) / alert_windows.SCRAPES_PER_WINDOW
    if prom.enabled and duration_seconds(prom.scrape_interval) > longest_scrape:
        out.append(Problem("mesh:observability.prometheus.scrapeInterval", prom.scrape_interval,
                           f"too long for the alerts' shortest rate window ({shortest}): at most "
                           f"{longest_scrape:g}s, so the window spans {alert_windows.SCRAPES_PER_WINDOW} scrapes"))
    floor = memory_bytes(PROXY_MEMORY_FLOOR)
    for key, res in (("mesh:istio.proxy.resources", cfg.istio.proxy.resources),
                     ("mesh:ingress.resources", cfg.ingress.resources)):
        if memory_bytes(res.limits.memory) < floor:
            out.append(Problem(f"{key}.limits.memory", res.limits.memory,
                               f"below {PROXY_MEMORY_FLOOR}, the least an Envoy proxy starts with: it would be "
                               "OOM-killed before it is ready"))
    tls = cfg.ingress.tls
    if cfg.ingress.enabled and tls and tls.cert_manager and "*" in cfg.ingress.hosts:
        out.append(Problem("mesh:ingress.hosts", list(cfg.ingress.hosts),
                           "cert-manager issues the certificate for named hosts: '*' is no host name; list the "
                           "hosts (a '*.example.com' wildcard is a name)"))
    return out


# Ref: https://istio.io/latest/docs/ops/deployment/performance-and-scalability/ (a proxy uses about 40-60 MB
# serving 1000 requests per second; Istio's own default request is 128Mi)
PROXY_MEMORY_FLOOR = "64Mi"
"""The least memory limit a sidecar or gateway proxy is given."""


def _secret_values(cfg: StackConfig) -> list[tuple[str, str, object, str]]:
    """(key, the `mesh:*` section the CLI must mark secret, value, why) of every credential key."""
    alertmanager, openid = cfg.observability.prometheus.alertmanager, cfg.observability.kiali.auth.openid
    return [("mesh:charts.mirrorPassword", "charts", cfg.charts.mirror_password, ""),
            ("mesh:observability.prometheus.alertmanager.webhookUrl", "observability",
             alertmanager.webhook_url if alertmanager else None, " (a webhook URL is a credential)"),
            ("mesh:observability.kiali.auth.openid.clientSecret", "observability",
             openid.client_secret if openid else None, "")]


def _environment_rules(cfg: StackConfig) -> list[Problem]:
    out = [Problem(key, "[not shown]", f"must be a secret{why}: `pulumi config set --secret --path {key} <value>`")
           for key, section, value, why in _secret_values(cfg)
           if value is not None and section not in cfg.secret_sections]
    if (cfg.charts.mirror_password is None) != (cfg.charts.mirror_username is None):
        out.append(Problem("mesh:charts.mirrorUsername", cfg.charts.mirror_username,
                           "set both mirrorUsername and mirrorPassword, or neither"))
    return out


def allowed_in(rule: str) -> str:
    """'dev' or 'dev, staging': the environments whose posture allows `rule`."""
    return ", ".join(env for env, posture in POSTURES.items() if getattr(posture, rule))


def _posture_rules(cfg: StackConfig) -> list[Problem]:
    """The stack's environment row of components.vocab.environments (the policy pack judges the same)."""
    env, posture, obs, out = cfg.environment, POSTURES[cfg.environment], cfg.observability, []
    kiali, istio = obs.kiali, cfg.istio
    if posture.strict_mtls and istio.mtls != "STRICT":
        permissive = ", ".join(e for e, p in POSTURES.items() if not p.strict_mtls)
        out.append(Problem("mesh:istio.mtls", istio.mtls, f"must be STRICT in {env}; PERMISSIVE is allowed only in "
                                                          f"{permissive}"))
    if not posture.anonymous_kiali and kiali.auth.strategy == "anonymous":
        out.append(Problem("mesh:observability.kiali.auth.strategy", "anonymous",
                           f"anonymous Kiali is allowed only in {allowed_in('anonymous_kiali')}, not {env}; use token "
                           "or openid"))
    if not posture.anonymous_grafana and obs.grafana.anonymous_viewer:
        out.append(Problem("mesh:observability.grafana.anonymousViewer", True,
                           f"allowed only in {allowed_in('anonymous_grafana')}, not {env}"))
    if istio.tracing.enabled and istio.tracing.sampling > posture.max_sampling_percent:
        out.append(Problem("mesh:istio.tracing.sampling", istio.tracing.sampling,
                           f"at most {posture.max_sampling_percent:g} in {env}: every traced request costs proxy CPU "
                           "and backend storage"))
    if posture.public_tls and cfg.ingress.enabled and cfg.ingress.tls is None:
        out.append(Problem("mesh:ingress.tls", None, f"required in {env}: the public ingress serves HTTPS (set "
                                                     "credentialName, and certManager if cert-manager issues it)"))
    openid = kiali.auth.openid
    if posture.view_only_without_rbac and kiali.enabled and openid and openid.disable_rbac and not kiali.view_only:
        out.append(Problem("mesh:observability.kiali.viewOnly", False,
                           f"must be true in {env} while auth.openid.disableRbac is true: every signed-in user acts "
                           "as Kiali's own ServiceAccount, so anyone who can sign in could change the mesh"))
    if not posture.scrape_from_anywhere:
        out += [Problem(f"mesh:observability.prometheus.scrapeFrom[{i}]", source,
                        f"admits every address to the metrics ports, allowed only in {allowed_in('scrape_from_anywhere')}"
                        f": name the scraping Prometheus's namespace or CIDR")
                for i, source in enumerate(obs.prometheus.scrape_from) if source.endswith("/0")]
    if not posture.alertmanager and obs.prometheus.alertmanager is not None:
        out.append(Problem("mesh:observability.prometheus.alertmanager", {},
                           f"off in {env}: nobody is paged for a laptop"))
    if not posture.implicit_context and not cfg.kubernetes.context and not cfg.kubernetes.render_yaml_to:
        out.append(Problem("mesh:kubernetes.context", None,
                           f"required in {env}: name the cluster's kubeconfig context, so the stack never acts on "
                           "whatever the operator's current context is"))
    return out


def render_problem(stack: str, render_to: object) -> list[Problem]:
    """Render mode only in a stack of its own: switching a live stack's provider to rendering
    replaces the provider, which deletes every resource it owns from the cluster."""
    # Ref: https://github.com/pulumi/pulumi-kubernetes/blob/v4.32.0/provider/pkg/provider/provider.go#L533
    # (a changed renderYamlToDirectory replaces the provider)
    if render_to is not None and stack in ENVIRONMENTS:
        return [Problem("mesh:kubernetes.renderYamlTo", render_to,
                        f"never on the live stack '{stack}': `make render STACK={stack}` renders it in a stack "
                        f"of its own ({stack}-render)")]
    return []


def stack_environment_problem(stack: str, declared: object) -> list[Problem]:
    """A stack named dev, staging or prod is that environment; it may not declare another."""
    if stack in ENVIRONMENTS and declared is not None and declared != stack:
        return [Problem("mesh:environment", declared,
                        f"stack '{stack}' is the {stack} environment; remove the key or use a stack of another name")]
    return []


def _istio_versions(cfg: StackConfig) -> list[tuple[str, str]]:
    """(key, version) of each istiod the stack runs: the main one and the canary, if any."""
    canary = cfg.istio.canary
    return [("mesh:istio.version", cfg.istio.version)] + ([("mesh:istio.canary.version", canary.version)]
                                                           if canary else [])


def _version_rules(cfg: StackConfig) -> list[Problem]:
    istio, k8s, out = cfg.istio, cfg.kubernetes.version, []
    for key, version in _istio_versions(cfg):
        if not releases.known(version) and not istio.allow_unknown_version:
            out.append(Problem(key, version, f"not a release this program knows ({releases.known_list()}); for a "
                                             "newer release set mesh:istio.allowUnknownVersion: true"))
        elif not releases.supports(version, k8s):
            supported = ", ".join(releases.RELEASES[releases.minor(version)].kubernetes)
            out.append(Problem(key, version, f"Istio {releases.minor(version)} does not support Kubernetes {k8s} "
                                             f"(mesh:kubernetes.version); it supports {supported}"))
    if istio.canary:
        skew = abs(releases.minor_number(istio.canary.version) - releases.minor_number(istio.version))
        if skew > releases.MAX_CANARY_SKEW:
            out.append(Problem("mesh:istio.canary.version", istio.canary.version,
                               f"is {skew} minors from mesh:istio.version {istio.version}; two control planes may be "
                               f"at most {releases.MAX_CANARY_SKEW} minors apart"))
    return out


# Keys that name a URL the program reaches without credentials, and what to do instead of embedding one.
# A credential there is refused even as a secret: it would reach chart values and ConfigMaps.
_URL_KEYS = {
    "mesh:charts.mirror": "use mesh:charts.mirrorUsername and the secret mesh:charts.mirrorPassword "
                          "(pulumi config set --secret --path)",
    "mesh:observability.prometheus.externalUrl": "this program reaches an external Prometheus without credentials: "
                                                 "expose it to the cluster through an authenticating proxy and give "
                                                 "its in-cluster URL",
    "mesh:observability.jaeger.external.queryUrl": "give Kiali an in-cluster query URL that needs no credentials",
    "mesh:observability.kiali.auth.openid.issuerUri": "an issuer URL has no credentials",
    "mesh:workloads.build.git": "the commit is public on GitHub, so no credential is needed",
}


def no_credentials(key: str) -> str | None:
    """The rule for a credential found in `key`, when the key must never carry one (else None)."""
    instead = _URL_KEYS.get(key)
    return None if instead is None else f"must not embed a credential (user:password@ or a token); {instead}"


def _end_of_life_rules(cfg: StackConfig, today: date) -> list[Problem]:
    """Outside dev, no minor past its end of life unless the stack says so (an upgrade under way)."""
    if POSTURES[cfg.environment].end_of_life:
        return []
    istio, k8s, out = cfg.istio, cfg.kubernetes, []
    for key, version in _istio_versions(cfg):
        if releases.is_end_of_life(version, today) and not istio.allow_end_of_life:
            eol = releases.end_of_life(version)
            out.append(Problem(key, version, f"Istio {releases.minor(version)} is past its end of life"
                                             f"{f' ({eol})' if eol else ''} in {cfg.environment}: upgrade (a canary "
                                             "revision makes it gradual), or set mesh:istio.allowEndOfLife: true "
                                             "while the upgrade is under way"))
    if k8s_releases.is_end_of_life(k8s.version, today) and not k8s.allow_end_of_life:
        out.append(Problem("mesh:kubernetes.version", k8s.version,
                           f"Kubernetes {k8s.version} is past its upstream end of life "
                           f"({k8s_releases.end_of_life(k8s.version)}): upgrade the cluster, or set "
                           "mesh:kubernetes.allowEndOfLife: true while it is under way"))
    return out


def _credential_rules(cfg: StackConfig) -> list[Problem]:
    """No user:password@ in a URL the program reaches, even when set as a secret."""
    obs, build = cfg.observability, cfg.workloads.build
    urls = {"mesh:charts.mirror": cfg.charts.mirror,
            "mesh:observability.prometheus.externalUrl": obs.prometheus.external_url,
            "mesh:observability.jaeger.external.queryUrl": obs.jaeger.external.query_url if obs.jaeger.external
            else None,
            "mesh:observability.kiali.auth.openid.issuerUri": obs.kiali.auth.openid.issuer_uri
            if obs.kiali.auth.openid else None,
            "mesh:workloads.build.git": build.git if build else None}
    return [Problem(key, "[a URL with credentials]", no_credentials(key) or "")
            for key, url in urls.items() if url and carries_credential(url)]


# A credential in a URL: user information before the host, or a token in the query string.
# Ref: https://www.rfc-editor.org/rfc/rfc3986#section-3.2.1 (userinfo)
_USERINFO = re.compile(r"[a-z][a-z0-9+.-]*://[^/?#\s]*@", re.IGNORECASE)
_TOKEN_QUERY = re.compile(r"[?&;](token|access_token|private_token|id_token|refresh_token|api_?key|apikey|"
                          r"x-api-key|auth|password|passwd|secret|client_secret|sig|signature|"
                          r"x-amz-signature|x-amz-credential|x-goog-signature|x-goog-credential)=",
                          re.IGNORECASE)


def carries_credential(text: str) -> bool:
    """Whether `text` holds a URL with user information or a token-bearing query parameter."""
    return bool(_USERINFO.search(text) or ("://" in text and _TOKEN_QUERY.search(text)))


def _namespace_rules(cfg: StackConfig) -> list[Problem]:
    """Each part of the mesh has its own namespace; none takes a system namespace or the control plane's."""
    claims = [(f"mesh:topology.services[{i}].name", s.name) for i, s in enumerate(cfg.topology.services)]
    claims.append(("mesh:observability.namespace", cfg.observability.namespace))
    if cfg.ingress.enabled:
        claims.append(("mesh:ingress.namespace", cfg.ingress.namespace))
    owner: dict[str, str] = {}
    out = []
    reserved = {ROOT_NAMESPACE: "the Istio control plane's", CNI_NAMESPACE: "istio-cni's (privileged)",
                **dict.fromkeys(SYSTEM_NAMESPACES, "a Kubernetes system")}
    if cfg.ingress.tls and cfg.ingress.tls.cert_manager:
        reserved[CERT_MANAGER_NAMESPACE] = "cert-manager's"
    for key, namespace in claims:
        whose = reserved.get(namespace) or ("a Kubernetes system" if namespace.startswith("kube-") else None)
        if whose:
            out.append(Problem(key, namespace, f"must be its own namespace: '{namespace}' is {whose} namespace"))
        elif namespace in owner and not (key.startswith("mesh:topology") and owner[namespace].startswith("mesh:topology")):
            out.append(Problem(key, namespace, f"must be its own namespace: {owner[namespace]} already claims it"))
        owner.setdefault(namespace, key)
    return out


def _host_rules(cfg: StackConfig) -> list[Problem]:
    """No two routes claim one host; a dashboard never takes the application's public host."""
    if not cfg.ingress.enabled:
        return []
    public = {h: f"mesh:ingress.hosts[{i}]" for i, h in reversed(list(enumerate(cfg.ingress.hosts)))}
    out = [Problem(f"mesh:ingress.hosts[{i}]", h, f"listed twice (also {public[h]})")
           for i, h in enumerate(cfg.ingress.hosts) if public[h] != f"mesh:ingress.hosts[{i}]"]
    dashboards: dict[str, str] = {}
    for addon in ("grafana", "kiali"):
        host, key = getattr(cfg.observability, addon).host, f"mesh:observability.{addon}.host"
        if host is None:
            continue
        if host in public:
            out.append(Problem(key, host, f"is the application's public host ({public[host]}); give the dashboard "
                                          "its own host name"))
        elif host in dashboards:
            out.append(Problem(key, host, f"already routed to another dashboard ({dashboards[host]})"))
        dashboards.setdefault(host, key)
    return out


def resource_settings(model: BaseModel, loc: tuple[Any, ...] = ()) -> Iterator[tuple[str, Resources]]:
    """(key path, Resources) for every `resources` setting in the config, found by walking the models."""
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        here = (*loc, field.alias or name)
        items = value.items() if isinstance(value, dict) else [(None, value)]
        for sub, item in items:
            path = here if sub is None else (*here, sub)
            if isinstance(item, Resources):
                yield key_path(path), item
            elif isinstance(item, BaseModel):
                yield from resource_settings(item, path)


def _resource_bounds(key: str, res: Resources) -> list[Problem]:
    out = []
    if cpu_millis(res.requests.cpu) > cpu_millis(res.limits.cpu):
        out.append(Problem(f"{key}.requests.cpu", res.requests.cpu, f"must not exceed limits.cpu ({res.limits.cpu})"))
    if memory_bytes(res.requests.memory) > memory_bytes(res.limits.memory):
        out.append(
            Problem(f"{key}.requests.memory", res.requests.memory, f"must not exceed limits.memory ({res.limits.memory})")
        )
    return out


def _istio_rules(cfg: StackConfig) -> list[Problem]:
    istio, out = cfg.istio, []
    # Ref: https://istio.io/latest/docs/setup/upgrade/canary/#stable-revision-labels ("default" is the default tag)
    for key, revision in (("mesh:istio.revision", istio.revision),
                          ("mesh:istio.canary.revision", istio.canary.revision if istio.canary else None)):
        if revision == "default":
            out.append(Problem(key, revision, "'default' is reserved for Istio's default revision tag: use '' for the "
                                              "default revision or another name"))
    if istio.canary and istio.canary.revision == istio.revision:
        out.append(Problem("mesh:istio.canary.revision", istio.canary.revision, "must differ from mesh:istio.revision"))
    return out


def _observability_rules(cfg: StackConfig) -> list[Problem]:
    obs, out = cfg.observability, []
    prom, jaeger, kiali = obs.prometheus, obs.jaeger, obs.kiali
    if prom.enabled and prom.external_url:
        out.append(Problem("mesh:observability.prometheus.externalUrl", prom.external_url,
                           "set either enabled: true (install) or externalUrl (use existing), not both"))
    if jaeger.enabled and jaeger.external:
        out.append(Problem("mesh:observability.jaeger.external", jaeger.external.model_dump(by_alias=True),
                           "set either enabled: true (install) or external (use existing), not both"))
    for addon in ("kiali", "grafana"):
        if getattr(obs, addon).enabled and not prom.enabled and not prom.external_url:
            out.append(Problem(f"mesh:observability.{addon}.enabled", True,
                               f"{addon.capitalize()} needs Prometheus: enable mesh:observability.prometheus "
                               "or set its externalUrl"))
    if cfg.istio.tracing.enabled and not jaeger.enabled and not jaeger.external:
        out.append(Problem("mesh:istio.tracing.enabled", True,
                           "tracing needs a backend: enable mesh:observability.jaeger or set jaeger.external"))
    if kiali.auth.strategy == "openid" and kiali.auth.openid is None:
        out.append(Problem("mesh:observability.kiali.auth.openid", None, "required when strategy is openid"))
    for addon in ("grafana", "kiali"):
        host = getattr(obs, addon).host
        if host and not cfg.ingress.enabled:
            out.append(Problem(f"mesh:observability.{addon}.host", host, "needs mesh:ingress.enabled: true"))
    return out


def _ingress_rules(cfg: StackConfig) -> list[Problem]:
    ing, out = cfg.ingress, []
    if ing.node_port is not None and ing.service_type != "NodePort":
        out.append(Problem("mesh:ingress.nodePort", ing.node_port, "only valid with serviceType: NodePort"))
    public = cfg.topology.public_services()
    if ing.enabled and not public:
        out.append(Problem("mesh:ingress.enabled", True, "no service in mesh:topology is public"))
    if len(public) > 1:
        out.append(Problem("mesh:topology", [s.name for s in public],
                           "at most one public service: the ingress routes / to it"))
    if public and public[0].port("http") is None:
        out.append(Problem("mesh:topology", public[0].name, "the public service needs an http port for the ingress route"))
    return out


def _workload_rules(cfg: StackConfig) -> list[Problem]:
    wl, out = cfg.workloads, []
    names = [s.name for s in cfg.topology.services]
    revisions = {cfg.istio.revision} | ({cfg.istio.canary.revision} if cfg.istio.canary else set())
    for name, svc in wl.services.items():
        key = f"mesh:workloads.services.{name}"
        if svc.image is not None and not svc.image.model_fields_set:
            out.append(Problem(f"{key}.image", {}, "an empty image block would switch the service from its build or "
                                                   "default image: set repository, tag or digest, or remove it"))
        if name not in names:
            out.append(Problem(key, name, f"not a service in mesh:topology; services: {', '.join(names)}"))
        if svc.istio_revision is not None and svc.istio_revision not in revisions:
            out.append(Problem(f"{key}.istioRevision", svc.istio_revision,
                               f"must be one of the declared revisions: {sorted(revisions)}"))
        auto = svc.autoscaling or wl.autoscaling
        if auto and auto.min_replicas > auto.max_replicas:
            out.append(Problem(f"{key}.autoscaling.minReplicas", auto.min_replicas, "must not exceed maxReplicas"))
    if wl.autoscaling and wl.autoscaling.min_replicas > wl.autoscaling.max_replicas:
        out.append(Problem("mesh:workloads.autoscaling.minReplicas", wl.autoscaling.min_replicas,
                           "must not exceed maxReplicas"))
    if wl.build is not None:
        out += _build_rules(cfg, wl.build)
    return out + image_problems(cfg)


_FULL_SHA = re.compile(r"[0-9a-f]{40}")


def _build_rules(cfg: StackConfig, build: BuildSource) -> list[Problem]:
    key = "mesh:workloads.build"
    if not POSTURES[cfg.environment].image_build:
        return [Problem(key, build.model_dump(by_alias=True, exclude_none=True),
                        f"images are built only in {allowed_in('image_build')} (loaded into kind); {cfg.environment} "
                        "pulls pinned images")]
    if (build.git is None) == (build.path is None):
        return [Problem(key, build.model_dump(by_alias=True, exclude_none=True),
                        "set exactly one of git (with commit) or path")]
    if build.git is not None:
        if carries_credential(build.git):
            return []  # _credential_rules
        if build.github_repo is None:
            return [Problem(f"{key}.git", build.git, "must be a GitHub repository URL https://github.com/<owner>/<repo>"
                                                      " (the Dockerfiles are read at the pinned commit); else use path")]
        if build.commit is None or not _FULL_SHA.fullmatch(build.commit):
            return [Problem(f"{key}.commit", build.commit, "must be a full 40-character lowercase commit SHA")]
        return []
    if build.commit is not None:
        return [Problem(f"{key}.commit", build.commit, "only with git; a path builds the working tree")]
    return _checkout_rules(cfg, build)


def _checkout_rules(cfg: StackConfig, build: BuildSource) -> list[Problem]:
    key, root = "mesh:workloads.build.path", build.checkout
    if root is None or not root.is_dir():
        return [Problem(key, build.path, f"directory {root} does not exist")]
    missing = [s.dockerfile_path for s in cfg.topology.services if not (root / s.dockerfile_path).is_file()]
    if missing:
        return [Problem(key, build.path, f"no Dockerfile at {', '.join(missing)} under {root}")]
    return []
