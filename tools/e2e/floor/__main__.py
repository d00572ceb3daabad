"""The floor beside the e2e timings: `count` trivial ConfigMaps through the same CLI, language host
and Kubernetes provider, so the mesh stack's times can be read against what any program that size pays."""

import pulumi
import pulumi_kubernetes as k8s

count = pulumi.Config().require_int("count")
provider = k8s.Provider("floor", namespace="default")
for i in range(count):
    k8s.core.v1.ConfigMap(f"floor-{i}", metadata={"name": f"floor-{i}", "namespace": "default"},
                          data={"i": str(i)}, opts=pulumi.ResourceOptions(provider=provider))
