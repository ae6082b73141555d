"""The processing load a sensor reports: CPU time per audio time over a window."""

from __future__ import annotations

import pytest

from uspd.load import RESUM_EVERY, LoadMeter


def test_load_is_cpu_per_audio_time_over_the_window() -> None:
    meter = LoadMeter(window_s=1.0, min_s=0.5)
    assert meter.percent is None
    for _ in range(9):  # 0.45 s of audio: not yet enough to report
        meter.add(0.05, 0.001)
    assert meter.percent is None
    meter.add(0.05, 0.001)
    assert meter.percent == pytest.approx(2.0)
    # A heavier second: the window forgets the light one.
    for _ in range(20):
        meter.add(0.05, 0.01)
    assert meter.percent == pytest.approx(20.0)
    # One slow block moves a 1 s window by its share only.
    meter.add(0.05, 0.06)
    assert meter.percent == pytest.approx(100.0 * (19 * 0.01 + 0.06) / 1.0)


def test_blocks_without_audio_are_not_counted_alone() -> None:
    meter = LoadMeter(window_s=1.0, min_s=0.0)
    meter.add(0.0, 0.5)
    assert meter.percent is None
    meter.add(0.1, 0.01)
    assert meter.percent == pytest.approx(10.0)


def test_running_sums_are_exact_after_a_long_run() -> None:
    """Days of blocks: the window's sums are re-added from its blocks now and then, so
    rounding in the running sums cannot build up."""
    meter = LoadMeter(window_s=30.0, min_s=5.0)
    for i in range(3 * RESUM_EVERY * 7):
        meter.add(0.05, 0.0007 if i % 3 else 0.0011)
    window = 600
    expected = (
        100.0
        * sum(
            0.0007 if i % 3 else 0.0011
            for i in range(3 * RESUM_EVERY * 7 - window, 3 * RESUM_EVERY * 7)
        )
        / 30.0
    )
    assert meter.percent == pytest.approx(expected, rel=1e-12)
