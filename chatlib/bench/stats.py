"""The little statistics the report needs: percentiles of latency samples, medians of runs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import median


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0.5 for p50, 0.99 for p99) of sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def median_of(values: Sequence[float | None]) -> float | None:
    """The median of the values that were measured (None where a figure was not available)."""
    measured = [value for value in values if value is not None and not math.isnan(value)]
    return median(measured) if measured else None
