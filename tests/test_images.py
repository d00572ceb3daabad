"""Dev builds the services' images from source and loads them into kind; other stacks pull."""

import pytest

from components.config.errors import ConfigError
from components.resources.image_build import context_digest
from tools.engine import attempt, evaluate, stack_config

IMAGE = "docker-build:index:Image"
COMMAND = "command:local:Command"
COMMIT = stack_config("dev")["workloads"]["build"]["commit"]


def _images(ev):
    return {d.inputs["metadata"]["name"]: d.inputs["spec"]["template"]["spec"]["containers"][0]["image"]
            for d in ev.of_type("kubernetes:apps/v1:Deployment")}


def test_dev_builds_one_image_per_service_from_the_pinned_commit(dev):
    builds = {r.name.removesuffix("-image-image"): r.inputs for r in dev.of_type(IMAGE)}
    assert set(builds) == {"gateway", "authority", "catalog", "customer", "item", "db"}
    for name, b in builds.items():
        assert b["context"]["location"] == f"https://github.com/mercari/mercari-microservices-example.git#{COMMIT}"
        assert b["push"] is False and len(b["exports"]) == 1 and "docker" in b["exports"][0]
        assert b["buildOnPreview"] is False  # a preview never builds
        assert b["tags"] == [f"mercari/mercari-microservices-example/{name}:git-{COMMIT[:12]}"]
    raw = f"https://raw.githubusercontent.com/mercari/mercari-microservices-example/{COMMIT}"
    assert builds["gateway"]["dockerfile"]["location"] == f"{raw}/services/gateway/Dockerfile"
    assert builds["db"]["dockerfile"]["location"] == f"{raw}/platform/db/Dockerfile"


def test_each_deployment_runs_exactly_the_built_image_after_it_is_loaded_into_kind(dev):
    loads = {r.name.removesuffix("-image-kind-load"): r for r in dev.of_type(COMMAND)}
    for name, image in _images(dev).items():
        tag = f"mercari/mercari-microservices-example/{name}:git-{COMMIT[:12]}"
        assert image == tag
        assert loads[name].inputs["create"] == f"kind load docker-image {tag} --name mercari"
        deployment = next(d for d in dev.of_type("kubernetes:apps/v1:Deployment") if d.inputs["metadata"]["name"] == name)
        assert loads[name].urn in deployment.dependencies


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_nothing_is_built_outside_dev(stack):
    ev = evaluate(stack)
    assert ev.of_type(IMAGE) == [] and ev.of_type(COMMAND) == []
    assert all(i.startswith("ghcr.io/example/mercari/") for i in _images(ev).values())


def test_a_service_with_its_own_image_is_pulled_not_built():
    ev = evaluate("dev", {"workloads": {"services": {"db": {"image": {"repository": "ghcr.io/x/db", "tag": "v3"}}}}})
    assert len(ev.of_type(IMAGE)) == 5 and _images(ev)["db"] == "ghcr.io/x/db:v3"


def _checkout(root):
    for path in ("services/gateway/Dockerfile", "services/authority/Dockerfile", "services/catalog/Dockerfile",
                 "services/customer/Dockerfile", "services/item/Dockerfile", "platform/db/Dockerfile", "go.mod"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(f"# {path}\n")


def test_a_local_checkout_is_built_with_a_content_tag(tmp_path):
    _checkout(tmp_path)
    patch = {"workloads": {"build": {"git": None, "commit": None, "path": str(tmp_path)}}}
    first = evaluate("dev", patch)
    build = first.of_type(IMAGE)[0].inputs
    assert build["context"]["location"] == str(tmp_path)
    assert build["dockerfile"]["location"].startswith(str(tmp_path) + "/")
    tag = f"src-{context_digest(tmp_path)[:12]}"
    assert all(i.endswith(":" + tag) for i in _images(first).values())
    assert _images(evaluate("dev", patch)) == _images(first)  # unchanged sources: nothing rolls
    (tmp_path / "go.mod").write_text("module changed\n")
    assert all(a != b for a, b in zip(_images(evaluate("dev", patch)).values(), _images(first).values(), strict=True))


BAD_BUILDS = [
    ({"git": None, "commit": None}, "mesh:workloads.build", "exactly one of git"),
    ({"path": "."}, "mesh:workloads.build", "exactly one of git"),
    ({"commit": "0ec5899"}, "mesh:workloads.build.commit", "full 40-character"),
    ({"commit": None}, "mesh:workloads.build.commit", "full 40-character"),
    ({"git": "https://gitlab.com/x/y.git"}, "mesh:workloads.build.git", "GitHub"),
    ({"git": None, "commit": None, "path": "no/such/dir"}, "mesh:workloads.build.path", "does not exist"),
    ({"git": None, "commit": None, "path": "components"}, "mesh:workloads.build.path", "no Dockerfile"),
]


@pytest.mark.parametrize("build,key,rule", BAD_BUILDS)
def test_bad_build_sources_are_config_errors(build, key, rule):
    result = attempt("dev", {"workloads": {"build": build}})
    assert isinstance(result.error, ConfigError), result.error
    problem = next(p for p in result.error.problems if p.key == key)
    assert rule in problem.allowed and result.resources == []


def test_building_in_prod_is_rejected():
    build = stack_config("dev")["workloads"]["build"]
    err = attempt("prod", {"workloads": {"build": build}}).error
    assert "mesh:workloads.build" in err.keys


def test_prod_registry_image_needs_a_tag_or_digest():
    config = stack_config("prod")
    config["workloads"]["tag"] = None  # an explicit `tag: null` in the stack file
    err = attempt("prod", config=config).error
    assert any(p.key == "mesh:workloads.tag" and "tag or digest" in p.allowed for p in err.problems)


def test_image_pull_secrets_reach_the_pods():
    ev = evaluate("prod", {"workloads": {"imagePullSecrets": ["ghcr-pull"]}})
    for d in ev.of_type("kubernetes:apps/v1:Deployment"):
        assert d.inputs["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "ghcr-pull"}]


@pytest.mark.parametrize("git, context", [
    ("https://github.com/mercari/mercari-microservices-example", "https://github.com/mercari/mercari-microservices-example.git#c"),
    ("https://github.com/mercari/mercari-microservices-example/", "https://github.com/mercari/mercari-microservices-example.git#c"),
    ("https://github.com/mercari/mercari-microservices-example.git",
     "https://github.com/mercari/mercari-microservices-example.git#c"),
])
def test_a_git_context_is_one_buildkit_reads_as_git(git, context):
    # BuildKit fetches an https URL without `.git` as a plain download (GitHub's HTML page).
    from components.config.models import BuildSource
    from components.resources.image_build import build_context

    assert build_context(BuildSource(git=git, commit="c")) == context
