"""Pure builders: values, manifests and rules computed from the config and the plan, no resources.

- `manifests`: typed Kubernetes objects and the one content hash that rolls pods.
- `network_policies`: default-deny and the ports each peer may reach.
- `workload_specs`: a service's Deployment, Service, PDB, HPA and AuthorizationPolicy specs.
- `istio_values`: the Istio charts' values, mesh config, Telemetry, mTLS, webhook transforms, restart hash.
- `security`: the restricted pod security contexts every pod template uses.
- `endpoints`, `promql`, `dashboards`, `slo`: the observability addons' wiring, queries, dashboards, alerts.
"""
