"""Tools that evaluate the program without deploying it; `pulumi up` never imports this package.

- `engine`: runs the real `__main__.py` for a stack under Pulumi's mock engine, recording every registration.
- `snapshot`: a canonical dump of every stack's evaluation (a refactoring must leave it unchanged).
- `diff`: two evaluations compared: what changes, which Deployments roll.
- `blast`: the blast radius of typical changes; `synthetic`: call graphs of any size for the benchmark.
- `waits`: the longest chain of serial readiness waits of `pulumi up`.
- `waitfor`: `pulumi.com/waitFor` evaluated as the Kubernetes provider evaluates it.
- `chart_render`, `chart_check`, `checkov`, `pack`: `make chart-check` (charts rendered with the
  program's values, then schema, unread values, validators, the policy pack, wiring, waits).
- `kiali_keys`: the keys the Kiali server reads, from its Go config structs (`tools/facts/`), for chart-check.
- `mercari_topology`: the mercari services' ports and calls derived from their code at a commit, against the topology.
- `explain`, `explain_facts`: `make explain`, a change in mesh terms; `validate`: `make validate`, every stack file.
- `reference`, `perf_tables`: the README's generated sections (`make docs`): configuration reference,
  code map, and the performance tables from `benchmarks/results.json`.
- `e2e/`: `make e2e-local`, the real Pulumi CLI and providers against a local control plane and istiod.
"""
