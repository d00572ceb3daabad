"""The windows the SLO alerts evaluate over (data): the multi-window, multi-burn-rate method."""

from __future__ import annotations

# Ref: https://sre.google/workbook/alerting-on-slos/ (table 5-8: burn rates and windows for a 30-day SLO)
BURN_RATES = (
    # (severity, burn rate, long window, short window)
    ("page", 14.4, "1h", "5m"),
    ("page", 6.0, "6h", "30m"),
    ("ticket", 3.0, "1d", "2h"),
    ("ticket", 1.0, "3d", "6h"),
)
LATENCY_WINDOW = "5m"
"""The window of the p99 latency rule."""
_MINUTES = {"m": 1, "h": 60, "d": 1440}


def window_seconds(window: str) -> int:
    """'5m' -> 300 (the windows above use m, h and d only)."""
    return int(window[:-1]) * _MINUTES[window[-1]] * 60


WINDOWS = sorted({w for _, _, long, short in BURN_RATES for w in (long, short)}, key=window_seconds)
"""Every window an error ratio is recorded over, shortest first."""
# Ref: https://grafana.com/docs/grafana/latest/datasources/prometheus/template-variables/#use-__rate_interval
# (a rate window of at least four scrape intervals still has two samples when a scrape fails)
SCRAPES_PER_WINDOW = 4
"""Scrape intervals the shortest rate window must span."""
