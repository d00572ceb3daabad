"""PromQL over Istio's standard request metrics, shared by the dashboards and the SLO rules (pure).

Errors are HTTP 5xx or a non-OK gRPC status, the same definition everywhere a ratio is shown or alerted on.
"""

from __future__ import annotations

# Ref: https://istio.io/latest/docs/reference/config/metrics/ (istio_requests_total, reporter, grpc_response_status)
REQUESTS = "istio_requests_total"
DURATION = "istio_request_duration_milliseconds_bucket"


def selector(**labels: str) -> str:
    return ",".join(f'{k}="{v}"' for k, v in labels.items())


def rate(sel: str, window: str) -> str:
    return f"rate({REQUESTS}{{{sel}}}[{window}])"


def errors(sel: str, window: str) -> str:
    """Failed requests: HTTP 5xx, or a gRPC status other than OK (0); `or` counts a series once."""
    return (f'rate({REQUESTS}{{{sel},response_code=~"5.."}}[{window}]) or '
            f'rate({REQUESTS}{{{sel},grpc_response_status!~"0|"}}[{window}])')


def error_ratio(sel: str, window: str, by: str = "") -> str:
    group = f" by ({by})" if by else ""
    return f"sum{group} ({errors(sel, window)}) / sum{group} ({rate(sel, window)})"


def latency(sel: str, quantile: float, window: str, by: str = "") -> str:
    group = f"le, {by}" if by else "le"
    return f"histogram_quantile({quantile}, sum by ({group}) (rate({DURATION}{{{sel}}}[{window}])))"
