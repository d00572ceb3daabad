"""Pull every chart the stacks pin from its repository into a CHARTS_DIR (`<chart>-<version>/`), the
directory `make e2e-local` and `make chart-check` take; what the pull-request e2e job runs (it has the
network). Nothing here runs in `make test`.

    python -m tools.e2e.pull_charts OUT [--stack staging ...] [--istio VERSION]

`--istio` also pulls the Istio charts at the release whose istiod the e2e builds (it runs the stack
at that version when the pin differs).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Optional

from tools import chart_render as cr
from tools.chart_check import releases
from tools.engine import STACKS


def pinned(stacks: tuple[str, ...]) -> set[tuple[str, str, Optional[str]]]:
    """(chart, version, repository) of every release the stacks install (a stack with a mirror set
    pulls from upstream here: this builds the mirror's contents)."""
    return set(releases(stacks, {"charts": {"mirror": None}}))


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--stack", action="append", choices=STACKS)
    parser.add_argument("--istio", help="also the Istio charts at this release")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    failed = []
    wanted = pinned(tuple(args.stack or STACKS))
    if args.istio:
        wanted |= {(c, args.istio, r) for c, _, r in wanted if c in ("base", "istiod", "gateway", "cni")}
    for chart, version, repo in sorted(wanted, key=lambda t: (t[0], t[1])):
        name = chart.rsplit("/", 1)[-1]
        target = args.out / f"{name}-{version}"
        if (target / "Chart.yaml").is_file():
            print(f"have {target.name}")
            continue
        try:
            source = cr.chart_source(chart, version, repo, None)
        except Exception as err:  # noqa: BLE001 - one line per chart that could not be pulled
            failed.append(f"{name} {version} from {repo}: {str(err).splitlines()[0] if str(err) else type(err).__name__}")
            continue
        shutil.move(str(source), target)
        print(f"pulled {target.name}")
    for line in failed:
        print(f"pull_charts: {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
