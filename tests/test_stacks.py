"""Whole stacks: each evaluates, validates, targets its own cluster and differs where it should."""

import json

import pytest
from validators import validate_istio, validate_kubernetes

from components.resources.charts import GRAFANA_REPO, ISTIO_REPO, JAEGER_REPO, KIALI_REPO, PROMETHEUS_REPO
from tools.engine import STACKS, attempt, evaluate, stack_config

PROVIDER = "pulumi:providers:kubernetes"
COMPONENT_PREFIX = "mesh:"


@pytest.fixture(scope="module", params=STACKS)
def ev(request):
    return evaluate(request.param)


@pytest.fixture(scope="module")
def all_stacks():
    return {s: evaluate(s) for s in STACKS}


def test_stack_evaluates_and_declares_the_mesh(ev):
    kinds = {r.kind for r in ev.resources}
    assert {"Namespace", "Deployment", "Service", "Chart", "PeerAuthentication", "Telemetry",
            "AuthorizationPolicy", "Gateway", "VirtualService"} <= kinds


def test_every_kubernetes_object_passes_strict_schema_validation(ev):
    version = stack_config(ev.stack)["kubernetes"]["version"]
    objects = ev.kubernetes_objects()
    assert len(objects) >= 30
    for r in objects:
        validate_kubernetes(r.manifest(), version)


def test_every_istio_resource_validates_against_the_crd_models(ev):
    resources = ev.istio_resources()
    assert len(resources) >= 15
    for r in resources:
        validate_istio(r.manifest())


def test_every_cluster_resource_uses_the_stacks_own_provider(ev):
    providers = ev.of_type(PROVIDER)
    assert [p.name for p in providers] == [f"{ev.stack}-cluster"]
    inputs = providers[0].inputs
    assert inputs["context"] == stack_config(ev.stack)["kubernetes"]["context"]
    for r in ev.resources:
        if r.type.startswith("kubernetes:"):
            assert r.provider.startswith(providers[0].urn + "::"), f"{r.name} does not use the stack provider"


def test_every_resource_is_parented_by_a_component(ev):
    top_level = ev.top_level()
    built = {"mesh:app:ImageBuild"} if ev.stack == "dev" else set()
    assert {r.type for r in top_level} == {PROVIDER, "mesh:observability:Stack", "mesh:istio:ControlPlane",
                                            "mesh:ingress:Gateway", "mesh:app:Microservice", *built}
    for r in ev.resources:
        if r in top_level:
            continue
        parent = ev.by_urn(r.parent)
        assert parent.type.startswith(COMPONENT_PREFIX), f"{r.name} is parented by {parent.type}"


def test_every_chart_is_pinned_and_from_an_allowed_repository(ev):
    allowed = {ISTIO_REPO, PROMETHEUS_REPO, JAEGER_REPO, GRAFANA_REPO, KIALI_REPO}
    for release, chart in ev.charts().items():
        assert chart.inputs["version"].count(".") == 2, release
        assert chart.inputs["repositoryOpts"]["repo"] in allowed, release


def test_two_evaluations_declare_identical_inputs():
    first, second = evaluate("prod"), evaluate("prod")
    key = lambda ev: sorted((r.urn, json.dumps(r.inputs, sort_keys=True)) for r in ev.resources)  # noqa: E731
    assert key(first) == key(second)


def test_stacks_differ_where_they_should(all_stacks):
    def telemetry(s):
        return all_stacks[s].of_type("kubernetes:telemetry.istio.io/v1:Telemetry")[0].inputs["spec"]

    assert [telemetry(s)["tracing"][0]["randomSamplingPercentage"] for s in STACKS] == [100, 10, 1]

    def replicas(s):
        deps = all_stacks[s].of_type("kubernetes:apps/v1:Deployment")
        hpas = {h.inputs["metadata"]["name"]: h.inputs["spec"]["minReplicas"]
                for h in all_stacks[s].of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")}
        return {d.inputs["metadata"]["name"]: d.inputs["spec"].get("replicas", hpas.get(d.inputs["metadata"]["name"]))
                for d in deps}

    assert set(replicas("dev").values()) == {1}
    assert min(replicas("staging").values()) >= 2 and min(replicas("prod").values()) >= 3

    kiali = {s: all_stacks[s].charts()["kiali"].inputs["values"]["auth"]["strategy"] for s in STACKS}
    assert kiali == {"dev": "anonymous", "staging": "token", "prod": "openid"}

    ingress = {s: all_stacks[s].charts()["istio-ingress"].inputs["values"]["service"]["type"] for s in STACKS}
    assert ingress == {"dev": "NodePort", "staging": "LoadBalancer", "prod": "LoadBalancer"}

    contexts = {s: all_stacks[s].of_type(PROVIDER)[0].inputs["context"] for s in STACKS}
    assert len(set(contexts.values())) == 3


def test_secrets_stay_secret(ev):
    assert "values" not in ev.charts()["kiali"].secret_paths, "Kiali's values land in a ConfigMap"
    assert "values" in ev.charts()["grafana"].secret_paths
    assert "grafanaAdminPassword" in ev.secret_outputs
    carriers = {r.name for r in ev.resources if r.secret_paths}
    secrets = {r.name for r in ev.of_type("kubernetes:core/v1:Secret")}
    assert carriers == {"observability-grafana-chart"} | secrets, "only Secrets and Grafana's values hold secrets"
    assert all(r.secret_paths == ["stringData"] for r in ev.of_type("kubernetes:core/v1:Secret"))


@pytest.mark.parametrize("stack", STACKS)
def test_render_mode_runs_in_a_stack_of_its_own_without_cluster_arguments(stack):
    # What `make render STACK=<stack>` sets up: a copy of the stack's config in <stack>-render.
    patch = {"environment": stack, "kubernetes": {"renderYamlTo": f"rendered/{stack}"}}
    ev = evaluate(f"{stack}-render", patch, config=stack_config(stack))
    provider = ev.of_type(PROVIDER)[0].inputs
    assert provider["renderYamlToDirectory"] == f"rendered/{stack}"
    # The provider's CheckConfig rejects context, cluster or kubeconfig beside renderYamlToDirectory.
    assert "context" not in provider and provider["kubeconfig"] == "" and "cluster" not in provider
    assert ev.of_type("docker-build:index:Image") == [] and ev.of_type("command:local:Command") == []


def test_a_live_stack_never_switches_to_render_mode():
    result = attempt("prod", {"kubernetes": {"renderYamlTo": "rendered/prod"}})
    assert result.error.keys == ["mesh:kubernetes.renderYamlTo"] and result.resources == []
    assert "make render STACK=prod" in str(result.error)


def test_a_dev_render_names_the_image_the_build_would_make():
    patch = {"environment": "dev", "kubernetes": {"renderYamlTo": "rendered/dev"}}
    ev = evaluate("dev-render", patch, config=stack_config("dev"))
    commit = stack_config("dev")["workloads"]["build"]["commit"]
    images = {d.inputs["spec"]["template"]["spec"]["containers"][0]["image"]
              for d in ev.of_type("kubernetes:apps/v1:Deployment")}
    assert images == {f"mercari/mercari-microservices-example/{s}:git-{commit[:12]}"
                      for s in ("gateway", "authority", "catalog", "customer", "item", "db")}


def test_provider_namespace_default_is_passed():
    ev = evaluate("dev", {"kubernetes": {"namespace": "sandbox"}})
    assert ev.of_type(PROVIDER)[0].inputs["namespace"] == "sandbox"


@pytest.mark.parametrize("mirror,expect_chart,expect_repo", [
    ("oci://registry.internal/charts", "oci://registry.internal/charts/istiod", None),
    ("https://charts.internal/mirror/", "istiod", "https://charts.internal/mirror"),
])
def test_one_switch_points_every_chart_at_a_mirror(mirror, expect_chart, expect_repo):
    ev = evaluate("prod", {"charts": {"mirror": mirror}})
    charts = ev.charts()
    assert charts["istiod"].inputs["chart"] == expect_chart
    for release, chart in charts.items():
        repo = (chart.inputs.get("repositoryOpts") or {}).get("repo")
        assert repo == expect_repo, release
        if expect_repo is None:
            assert chart.inputs["chart"].startswith(mirror + "/"), release


def test_readme_config_reference_matches_the_code():
    from tools.engine import ROOT
    from tools.reference import table

    assert table() in (ROOT / "README.md").read_text(), "run `make docs` and paste the table into README.md"


def test_readme_figures_come_from_the_results_file():
    from tools.engine import ROOT
    from tools.reference import SECTIONS

    readme = (ROOT / "README.md").read_text()
    for name, generate in SECTIONS.items():
        assert f"<!-- {name}:start -->\n{generate()}\n<!-- {name}:end -->" in readme, f"run `make docs` ({name})"


def test_readme_code_map_is_the_tree():
    from tools.engine import ROOT
    from tools.reference import code_map

    assert code_map() in (ROOT / "README.md").read_text(), "run `make docs`: the code map is generated"


def test_the_code_map_lists_only_the_repositorys_own_modules(tmp_path):
    from tools.reference import code_map

    for rel in ("__main__.py", "components/plan.py", "components/config/__init__.py", "policy/rules.py",
                "policy/venv/lib/site-packages/x/__init__.py", "policy/venv/lib/site-packages/x/y.py",
                "tools/e2e/modules/a/exec_shim.py", "tools/__init__.py", "benchmarks/bench.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text('"""Doc."""\n')
    rows = [line.split("`")[1] for line in code_map(tmp_path).splitlines()[2:]]
    assert rows == ["__main__.py", "benchmarks/bench.py", "components/config/__init__.py", "components/plan.py",
                    "policy/rules.py"]


def test_the_policy_packs_environment_table_is_the_programs():
    from tools.reference import ENVIRONMENTS_JSON, environments_json

    assert ENVIRONMENTS_JSON.read_text() == environments_json(), "run `make docs`: policy/environments.json is generated"
