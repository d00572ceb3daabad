"""Upstream Kubernetes minors and their end-of-life dates (data, with sources)."""

from __future__ import annotations

from datetime import date

# endOfLifeDate per minor.
# Ref: https://github.com/kubernetes/website/blob/main/data/releases/schedule.yaml (endOfLifeDate)
# Ref: https://kubernetes.io/releases/ (one page per minor: https://kubernetes.io/releases/1.36/), read 2026-12-01
# Minors older than the oldest listed here are end of life.
END_OF_LIFE: dict[str, date] = {
    "1.31": date(2025, 10, 28),
    "1.32": date(2026, 2, 28),
    "1.33": date(2026, 6, 28),
    "1.34": date(2026, 10, 27),
    "1.35": date(2027, 2, 28),
    "1.36": date(2027, 6, 28),
    "1.37": date(2027, 10, 28),
}


def _number(minor: str) -> int:
    """'1.36' -> 36."""
    return int(minor.split(".")[1])


def end_of_life(minor: str) -> date | None:
    """The day upstream support of Kubernetes `minor` ('1.36') ends; None if the minor is not listed."""
    return END_OF_LIFE.get(minor)


def is_end_of_life(minor: str, today: date) -> bool:
    """Whether Kubernetes `minor` is out of upstream support on `today` (older than the table: always;
    newer: not yet known, so no)."""
    if _number(minor) < min(_number(m) for m in END_OF_LIFE):
        return True
    eol = end_of_life(minor)
    return eol is not None and today >= eol
