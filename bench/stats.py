"""Summaries of benchmark samples: p50, p95, n, and throughput.

A *sample* is one timed batch: the mean time of ``per_sample`` back-to-back operations, in
seconds. A :class:`Figure` summarises the samples of one measurement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

MB = 1_000_000  # throughput is reported in decimal MB/s (1 GB/s = 1000 MB/s)


def percentile(values: Sequence[float], pct: float) -> float:
    """Return the ``pct`` percentile of ``values`` (linear interpolation between ranks).

    Raises
    ------
    ValueError
        If ``values`` is empty or ``pct`` is outside [0, 100].
    """
    if not values:
        raise ValueError("no samples")
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile {pct} outside [0, 100]")
    ordered = sorted(float(v) for v in values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Figure:
    """One measurement of one repetition.

    Attributes
    ----------
    name : str
        Key, e.g. ``"call_sync.sab"``.
    label : str
        What was measured, for the tables.
    p50_s, p95_s : float
        Median and 95th percentile of the per-operation time, seconds.
    n : int
        Number of samples.
    per_sample : int
        Operations timed back to back per sample.
    nbytes : int or None
        Payload bytes per operation, for throughput figures.
    samples_s : list of float
        Every sample, seconds per operation.
    """

    name: str
    label: str
    p50_s: float
    p95_s: float
    n: int
    per_sample: int
    nbytes: int | None
    samples_s: list[float]

    @property
    def mb_per_s(self) -> float | None:
        """Throughput at the median time (MB/s), for figures with ``nbytes``."""
        return None if self.nbytes is None else self.nbytes / self.p50_s / MB

    @property
    def mb_per_s_p95(self) -> float | None:
        """Throughput at the 95th-percentile (slow) time (MB/s), for figures with ``nbytes``."""
        return None if self.nbytes is None else self.nbytes / self.p95_s / MB

    def to_json(self) -> dict[str, Any]:
        """Every field plus the throughputs, as plain JSON."""
        data = asdict(self)
        data["mb_per_s"] = self.mb_per_s
        data["mb_per_s_p95"] = self.mb_per_s_p95
        return data


def make_figure(
    name: str, label: str, samples_s: Sequence[float], per_sample: int = 1, nbytes: int | None = None
) -> Figure:
    """Summarise ``samples_s`` (seconds per operation, one value per sample).

    Raises
    ------
    ValueError
        If there are no samples, or a sample is not a positive number.
    """
    values = [float(v) for v in samples_s]
    if not values:
        raise ValueError(f"{name}: no samples")
    bad = [v for v in values if not v > 0]
    if bad:
        raise ValueError(f"{name}: samples must be positive seconds, got {bad[:3]}")
    return Figure(
        name=name,
        label=label,
        p50_s=percentile(values, 50),
        p95_s=percentile(values, 95),
        n=len(values),
        per_sample=per_sample,
        nbytes=nbytes,
        samples_s=values,
    )
