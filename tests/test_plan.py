"""What runs for each service: image source, settings and callers, decided in components.plan."""

import pytest

from components.config.images import image_of, is_built
from components.config.loading import parse_stack_config
from components.plan import Caller, plan_services, resolve_workload
from tools.engine import stack_config

INGRESS = Caller("istio-ingress", "istio-ingress")
DIGEST = "sha256:" + "b" * 64


def _cfg(stack="staging", **workloads):
    raw = stack_config(stack)
    raw["workloads"] = {**raw["workloads"], **workloads}
    return parse_stack_config(stack, raw)


# (workloads overrides, service, expected reference, expected deciding key)
IMAGES = [
    ({}, "item", "ghcr.io/example/mercari/item:git-9363ec85558f", "mesh:workloads.tag"),
    ({"services": {"item": {"image": {"tag": "v2"}}}}, "item", "ghcr.io/example/mercari/item:v2",
     "mesh:workloads.services.item.image"),
    ({"services": {"item": {"image": {"digest": DIGEST}}}}, "item", f"ghcr.io/example/mercari/item@{DIGEST}",
     "mesh:workloads.services.item.image"),
    ({"services": {"item": {"image": {"repository": "ghcr.io/x/item"}}}}, "item", "ghcr.io/x/item:git-9363ec85558f",
     "mesh:workloads.services.item.image"),
    ({"services": {"item": {"replicas": 3}}}, "item", "ghcr.io/example/mercari/item:git-9363ec85558f", "mesh:workloads.tag"),
    ({"registry": "registry.internal/m"}, "db", "registry.internal/m/db:git-9363ec85558f", "mesh:workloads.tag"),
]


@pytest.mark.parametrize("workloads,service,reference,key", IMAGES)
def test_image_of(workloads, service, reference, key):
    image = image_of(_cfg(**workloads), service)
    assert (image.reference, image.key) == (reference, key)


@pytest.mark.parametrize("services,built", [
    ({}, {"gateway", "authority", "catalog", "customer", "item", "db"}),
    ({"db": {"image": {"repository": "ghcr.io/x/db", "tag": "v3"}}}, {"gateway", "authority", "catalog", "customer",
                                                                       "item"}),
    ({"db": {"replicas": 1}}, {"gateway", "authority", "catalog", "customer", "item", "db"}),
])
def test_is_built_unless_the_service_names_its_own_image(services, built):
    raw = stack_config("dev")
    raw["workloads"]["services"] = services
    cfg = parse_stack_config("dev", raw)
    assert {s.name for s in cfg.topology.services if is_built(cfg, s.name)} == built


def test_nothing_is_built_without_a_build_source():
    cfg = _cfg()
    assert not any(is_built(cfg, s.name) for s in cfg.topology.services)


def test_overrides_overlay_the_defaults_field_by_field():
    cfg = _cfg(services={"item": {"replicas": 4, "env": {"B": "2", "A": "1"}, "istioRevision": ""}})
    item, db = resolve_workload(cfg, "item"), resolve_workload(cfg, "db")
    assert (item.replicas, db.replicas) == (4, 2)
    assert list(item.env) == ["A", "B"] and db.env == {}
    assert item.resources == db.resources == cfg.workloads.resources
    assert (item.istio_revision, db.istio_revision) == ("", None)


@pytest.mark.parametrize("autoscaling,replicas,minimum", [(None, 2, 2), ({"minReplicas": 3, "maxReplicas": 5}, 2, 3)])
def test_min_replicas_comes_from_the_hpa_when_there_is_one(autoscaling, replicas, minimum):
    assert resolve_workload(_cfg(autoscaling=autoscaling), "db").min_replicas == minimum


def test_callers_are_the_call_graph_plus_the_ingress_for_the_public_service():
    plans = {p.service.name: p for p in plan_services(_cfg(), INGRESS)}
    assert [c.namespace for c in plans["db"].callers] == ["customer", "item"]
    assert [c.principal for c in plans["db"].callers] == ["cluster.local/ns/customer/sa/customer",
                                                          "cluster.local/ns/item/sa/item"]
    # The ingress routes to the http port only: it may not call the gRPC port.
    assert plans["gateway"].callers == (Caller("istio-ingress", "istio-ingress", (4000,)),)
    assert [c.namespace for c in plans["customer"].callers] == ["authority", "catalog"]


def test_without_an_ingress_nobody_calls_the_public_service():
    plans = {p.service.name: p for p in plan_services(_cfg(), None)}
    assert plans["gateway"].callers == ()


def test_plans_follow_topology_order():
    assert [p.service.name for p in plan_services(_cfg(), INGRESS)] == [
        "gateway", "authority", "catalog", "customer", "item", "db"]


def test_the_image_is_decided_once_in_the_plan_built_pulled_or_rendered():
    dev = parse_stack_config("dev", stack_config("dev"))
    plans = {p.service.name: p for p in plan_services(dev, None, "git-0ec5899ea5df")}
    assert plans["catalog"].built and plans["catalog"].build
    assert plans["catalog"].workload.image == "mercari/mercari-microservices-example/catalog:git-0ec5899ea5df"
    assert plans["catalog"].repository == "mercari/mercari-microservices-example/catalog"
    rendering = parse_stack_config("dev-render", {**stack_config("dev"), "environment": "dev",
                                                  "kubernetes": {"renderYamlTo": "/tmp/r"}})
    rendered = {p.service.name: p for p in plan_services(rendering, None, "git-0ec5899ea5df")}
    assert rendered["catalog"].built and not rendered["catalog"].build  # a render names the image, builds nothing
    assert rendered["catalog"].workload.image == plans["catalog"].workload.image
    staging = parse_stack_config("staging", stack_config("staging"))
    assert not any(p.build or p.built for p in plan_services(staging, None, None))
