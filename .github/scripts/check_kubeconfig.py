"""Check, before Pulumi runs, the kubeconfig a delivery workflow received (secret KUBECONFIG of the
environment) against what a preview or an update on a GitHub runner needs, and say what to fix:

- it has a context named as the stack's `mesh:kubernetes.context` (the program never uses the
  current context), whose cluster and user it defines;
- it is self-contained: certificates and keys inline (`*-data`), no path into a machine that is not
  this runner (`certificate-authority`, `client-certificate`, `client-key`, `tokenFile`);
- the server is an https URL, not a loopback, private or cluster-internal address GitHub-hosted runners
  cannot reach (on a self-hosted runner, `RUNNER_ENVIRONMENT=self-hosted`, that is a note).

An `exec` credential plugin is allowed (e.g. `aws eks get-token` after the OIDC login step) and named.
Reachability and write access (a preview is a server-side dry-run, authorised like a write) are proven
by the preview itself. Standard library and PyYAML only (the workflow runs it in the program's venv).

    .venv/bin/python .github/scripts/check_kubeconfig.py KUBECONFIG_FILE stacks/Pulumi.<stack>.yaml
"""

from __future__ import annotations

import ipaddress
import os
import sys
from typing import Any
from urllib.parse import urlparse

import yaml

FILE_FIELDS = {"cluster": ("certificate-authority",), "user": ("client-certificate", "client-key", "tokenFile")}


def stack_context(stack_doc: dict[str, Any]) -> str | None:
    """`mesh:kubernetes.context` of a stack file."""
    kubernetes = ((stack_doc or {}).get("config") or {}).get("mesh:kubernetes") or {}
    return kubernetes.get("context") if isinstance(kubernetes, dict) else None


def _named(doc: dict[str, Any], kind: str, name: str) -> dict[str, Any] | None:
    for entry in doc.get(f"{kind}s") or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry.get(kind) or {}
    return None


def server_problem(server: str) -> tuple[str, bool] | None:
    """(why, fatal anywhere) when a runner may not reach `server`; fatal=False: only GitHub-hosted ones cannot."""
    url = urlparse(server or "")
    if url.scheme != "https" or not url.hostname:
        return f"server '{server}' is not an https:// URL", True
    host = url.hostname
    if host == "localhost" or host.endswith((".svc", ".cluster.local", ".internal", ".local")):
        return f"server '{server}' is a name GitHub-hosted runners cannot resolve", False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if ip.is_loopback:
        return f"server '{server}' is this machine's loopback, not the cluster", True
    if ip.is_private or ip.is_link_local:
        return (f"server '{server}' is a private address GitHub-hosted runners cannot reach (a self-hosted runner "
                "inside that network, or a public endpoint)", False)
    return None


def problems(kubeconfig: Any, context: str | None, hosted: bool = True) -> tuple[list[str], list[str]]:
    """(problems, notes) of a parsed kubeconfig for the stack's context; `hosted`: on a GitHub-hosted
    runner (a private or cluster-internal address is then a problem, on a self-hosted runner a note)."""
    if not context:
        return ["the stack file has no mesh:kubernetes.context (the program refuses to use the current context)"], []
    if not isinstance(kubeconfig, dict) or not kubeconfig.get("contexts"):
        return ["the secret is not a kubeconfig (YAML with clusters, users and contexts)"], []
    ctx = _named(kubeconfig, "context", context)
    if ctx is None:
        names = [c.get("name") for c in kubeconfig.get("contexts") or [] if isinstance(c, dict)]
        return [f"no context named '{context}' (it has: {', '.join(map(str, names)) or 'none'}); "
                f"rename one: kubectl config rename-context <old> {context}"], []
    out: list[str] = []
    notes: list[str] = []
    for kind in ("cluster", "user"):
        name = ctx.get(kind)
        entry = _named(kubeconfig, kind, name) if name else None
        if entry is None:
            out.append(f"context '{context}' names {kind} '{name}', which the kubeconfig does not define")
            continue
        for field in FILE_FIELDS[kind]:
            if entry.get(field):
                out.append(f"{kind} '{name}' reads {field} from a file ({entry[field]}), absent on the runner: "
                           f"inline it (kubectl config view --raw --minify --flatten --context {context})")
        if kind == "cluster":
            found = server_problem(entry.get("server", ""))
            if found and (hosted or found[1]):
                out.append(found[0])
            elif found:
                notes.append(found[0] + "; allowed on this self-hosted runner")
        elif "exec" in entry:
            notes.append(f"user '{name}' runs the credential plugin '{entry['exec'].get('command')}': it must be on "
                         "the runner and logged in (the OIDC login steps)")
        elif "auth-provider" in entry:
            out.append(f"user '{name}' uses a removed auth-provider plugin: use an exec plugin or a token")
    return out, notes


def main(argv: list[str]) -> int:
    kubeconfig_path, stack_path = argv
    with open(stack_path) as f:
        context = stack_context(yaml.safe_load(f))
    try:
        with open(kubeconfig_path) as f:
            kubeconfig = yaml.safe_load(f)
    except yaml.YAMLError:
        kubeconfig = None  # never echo the secret's text
    found, notes = problems(kubeconfig, context, os.environ.get("RUNNER_ENVIRONMENT", "github-hosted") != "self-hosted")
    for note in notes:
        print(f"::notice::kubeconfig: {note}")
    for problem in found:
        print(f"::error::kubeconfig ({stack_path}, context '{context}'): {problem}")
    if not found:
        print(f"kubeconfig: context '{context}' defined, self-contained")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
