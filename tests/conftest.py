import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from tools.engine import evaluate  # noqa: E402


@pytest.fixture(scope="session")
def dev():
    """The dev stack, evaluated once for every test that only reads it."""
    return evaluate("dev")


@pytest.fixture(scope="session")
def prod():
    """The prod stack, evaluated once for every test that only reads it."""
    return evaluate("prod")


def pytest_make_parametrize_id(config, val, argname):
    """String parameters as safe test ids (see ids.py)."""
    from ids import case_id

    return case_id(val) if isinstance(val, str) else None
