"""The compute benchmark runs the real chain (its figure is reported, not asserted)."""

from __future__ import annotations

import math

from uspd.dsp.bench import realtime_factor


def test_realtime_factor_runs() -> None:
    factor = realtime_factor(sample_rate=48_000, channels=2, carrier_hz=20_000.0, seconds=1.0)
    assert math.isfinite(factor) and factor > 0
