"""Pulumi components: the only layer that registers resources (charts, namespaces, workloads).

- `cluster`: the explicit Kubernetes provider; `charts`: pinned Helm releases and generated secrets.
- `istio`: the control plane; `ingress`: the gateway and routes; `microservice`: one service's namespace.
- `image_build`: dev's images built from source; `observability/`: Prometheus, Jaeger, Grafana, Kiali.
"""
