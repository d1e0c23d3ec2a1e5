"""How numbers with confidence intervals are written in tables, findings and README."""

from __future__ import annotations

from typing import Any

#: How every table and sentence shows a value that is missing or undefined.
MISSING = "-"


def with_ci(
    value: float | None, low: float | None, high: float | None, digits: int = 3, sign: bool = False
) -> str:
    """``0.653 [0.609, 0.696]`` (``sign``: ``+0.012 [-0.004, +0.030]`` for differences);
    the bare value where a bound is missing, and :data:`MISSING` where the value is undefined."""
    if value is None:
        return MISSING
    spec = f"{'+' if sign else ''}.{digits}f"
    if low is None or high is None:
        return format(value, spec)
    return f"{format(value, spec)} [{format(low, spec)}, {format(high, spec)}]"


def metric_with_ci(entry: dict[str, Any], metric: str, digits: int = 3) -> str:
    """``entry[metric]`` with ``entry[metric_low]`` / ``entry[metric_high]`` (metrics JSON)."""
    return with_ci(
        entry.get(metric), entry.get(f"{metric}_low"), entry.get(f"{metric}_high"), digits
    )
