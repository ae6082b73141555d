"""The gated-tone experiment (research/range_band/gated_tone.py, not shipped): its gate,
and the periodic-clutter remover that lets the shipped features read a gated tone."""

from __future__ import annotations

import importlib

import numpy as np

gated_tone = importlib.import_module("gated_tone")  # research/range_band (conftest)

RATE = 4000.0
GATE = gated_tone.Gate(((0.010, 0.007),))


def _times(seconds: float) -> np.ndarray:
    return np.arange(int(seconds * RATE)) / RATE


def test_the_gate_is_off_for_its_gaps_and_keeps_the_rest() -> None:
    t = np.array([0.005, 0.0135, 0.030, 0.045, 0.0535])
    assert np.allclose(GATE(t), [1.0, 0.0, 1.0, 1.0, 0.0])
    # 7 ms of 40 with half-millisecond raised-cosine edges inside the gap
    assert abs(GATE.duty - (33.0 + 2 * 0.5 * 0.5) / 40.0) < 0.01


def test_a_gated_static_carrier_becomes_a_constant_carrier() -> None:
    """The direct path and the room's echoes repeat every period: removed, and the rest
    put on the carrier's level while the tone is on (what the features normalise by)."""
    t = _times(2.0)
    carrier = np.array([0.3 * np.exp(0.4j), 0.2 * np.exp(-1.1j)])
    x = carrier[:, None] * GATE(t)[None, :]
    remover = gated_tone.PeriodicClutterRemover(RATE, 2, GATE.duty)
    out = np.concatenate([remover.process(x[:, i : i + 37]) for i in range(0, t.size, 37)], 1)
    assert np.allclose(out[:, 200:], carrier[:, None], rtol=1e-9, atol=1e-12)


def test_a_moving_echo_passes_gated_and_nearly_whole() -> None:
    """An echo whose phase turns (110 Hz of Doppler) does not repeat every period: it
    passes, gated, less its small periodic average over the remover's memory."""
    t = _times(3.0)
    echo = 1e-3 * np.exp(2j * np.pi * 110.0 * t) * GATE(t)
    x = (0.3 + 0 * t)[None, :] * GATE(t)[None, :] + echo[None, :]
    remover = gated_tone.PeriodicClutterRemover(RATE, 1, GATE.duty)
    out = remover.process(x)[0, 8000:] - 0.3
    kept = echo[8000:]
    corr = abs(np.vdot(kept, out)) / (np.linalg.norm(kept) * np.linalg.norm(out))
    assert corr > 0.99


def test_the_gate_model_gates_the_emission_and_adds_nothing_audible() -> None:
    model = gated_tone.GateModel(GATE)
    t = np.array([0.005, 0.0135])
    assert np.allclose(model.envelope(t, 600.0), [1.0, 0.0])
    assert not model.audible(np.arange(10), 6000.0).any()


def test_doppler_at_a_multiple_of_the_gate_rate_is_removed_with_the_clutter() -> None:
    """The price of gating: static clutter becomes a comb at every multiple of 25 Hz, and
    so does the remover's notch; an echo at 100 Hz repeats every period and goes."""
    t = _times(3.0)
    echo = 1e-3 * np.exp(2j * np.pi * 100.0 * t) * GATE(t)
    x = 0.3 * GATE(t)[None, :] + echo[None, :]
    out = gated_tone.PeriodicClutterRemover(RATE, 1, GATE.duty).process(x)[0, 8000:]
    assert np.linalg.norm(out - out.mean()) < 1e-6 * np.linalg.norm(echo[8000:])
