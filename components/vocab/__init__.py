"""The bottom layer: the words every other layer uses, importing nothing of the program's.

- `fields`: annotated field types that carry their validation rule (and its README text).
- `topology`: the services, their ports and who calls whom (data, not code paths).
- `istio_releases`: the Istio releases the program knows and the Kubernetes minors each supports.
- `istio`: Istio's own names (root namespace, trust domain, workload principals).
"""
