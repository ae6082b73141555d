"""The audibility model of a sweep band beside the tone (research/range_band, not shipped):
what a weakly nonlinear drive chain adds, and where in the audible range it lands."""

from __future__ import annotations

import importlib
import math

import numpy as np

audibility = importlib.import_module("audibility")  # research/range_band (conftest)

FLAT = np.zeros(len(audibility.THIRD_OCTAVES_HZ) + 1)  # a speaker flat in the audible range
GATED = audibility.GATED


def _run(waveform: object, *, hd2: float, hd3: float, single: bool = False) -> object:
    return audibility.audibility(
        waveform,
        tone_hz=36000.0,
        sweep_centre_hz=30000.0,
        tone_level_dbfs=-10.0,
        sweep_share_db=-3.0,
        audible_gain_db=FLAT,
        hd2_db=hd2,
        hd3_db=hd3,
        single=single,
    )


def test_a_tone_alone_adds_nothing_audible() -> None:
    """x² and x³ of one tone are DC, 2f and 3f: the shipped emission is clean."""
    t = np.arange(int(0.4 * audibility.FS)) / audibility.FS
    tone = 0.3 * np.cos(2 * np.pi * 40000.0 * t)
    added = audibility.chain(tone, 0.3, -40.0, -40.0)
    levels = audibility.band_levels(added)
    assert levels[audibility.THIRD_OCTAVES_HZ.index(25.0) + 1 :].max() < -200.0


def test_two_tones_make_their_difference_at_the_level_second_order_theory_gives() -> None:
    """(A·cos a + B·cos b)² holds a2·A·B·cos(a − b): with HD2 of the first tone alone at
    −60 dB (a2 = 2·10⁻³/A), the 4 kHz product is 2·10⁻³·B in amplitude."""
    t = np.arange(int(0.4 * audibility.FS)) / audibility.FS
    a, b = 0.3, 0.2
    x = a * np.cos(2 * np.pi * 34000.0 * t) + b * np.cos(2 * np.pi * 30000.0 * t)
    added = audibility.chain(x, a, -60.0, -300.0)
    level = audibility.band_levels(added, (4000.0,))[0]
    assert abs(level - 20 * math.log10(2e-3 * b)) < 0.05


def test_a_gated_sweep_beside_the_tone_is_heard_where_one_constant_envelope_signal_is_not() -> None:
    """The same sweeps, the same chain: as a second component their difference from the tone
    (2–10 kHz for a 26–34 kHz band and a 36 kHz tone) is far above threshold; as
    excursions of one constant-envelope signal, nothing audible is made."""
    two = _run(GATED, hd2=-60.0, hd3=-60.0)
    one = _run(GATED, hd2=-60.0, hd3=-60.0, single=True)
    assert two.margin_db > 10.0
    assert 2000.0 <= two.worst_hz <= 12500.0
    assert one.margin_db < two.margin_db - 40.0
    assert one.margin_db < -20.0


def test_second_order_products_scale_one_for_one_with_the_distortion() -> None:
    """So one run per device gives the distortion at which its products reach threshold."""
    louder = _run(GATED, hd2=-50.0, hd3=-300.0)
    quieter = _run(GATED, hd2=-70.0, hd3=-300.0)
    assert abs((louder.margin_db - quieter.margin_db) - 20.0) < 0.01


def test_thresholds_are_the_standards_values() -> None:
    """ISO 226:2003 Tf at 1 kHz and 4 kHz; ISO 389-7:2019 at 16 kHz."""
    assert len(audibility.THRESHOLD_DB_SPL) == len(audibility.THIRD_OCTAVES_HZ)
    table = dict(zip(audibility.THIRD_OCTAVES_HZ, audibility.THRESHOLD_DB_SPL, strict=True))
    assert table[1000.0] == 2.4
    assert table[4000.0] == -5.4
    assert table[16000.0] == 40.2
