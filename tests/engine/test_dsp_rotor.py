"""The blade-synchronous rotor canceller: tracks a fan's blade period, removes what repeats,
leaves a walker and everything else alone, and streams in any block size."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from uspd.dsp.bench import rotor_cost_ms
from uspd.dsp.chain import DspChain
from uspd.dsp.features import FRAME_HOP_S, WINDOW_S
from uspd.dsp.rotor import (
    FD_PHASES,
    PERSIST_HOPS,
    QUIET_EVERY,
    BladePeriodTracker,
    RotorCanceller,
    _fractional_delay_table,
)
from uspd.dsp.testsignals import rotor_echo

RATE = 4000.0
CARRIER_HZ = 40_000.0
MICS = 2

ComplexArray = npt.NDArray[np.complex128]


def _rotor(
    n: int, period_s: float, seed: int, *, level: float = 0.03, sway_hz: float = 0.0
) -> ComplexArray:
    return rotor_echo(n, RATE, period_s, MICS, seed, level=level, sway_hz=sway_hz)


def _room(n: int, seed: int) -> ComplexArray:
    """Carrier (a different static level and phase per mic) plus receiver noise."""
    rng = np.random.default_rng(seed)
    carrier = np.array([0.5 * np.exp(0.3j), 0.4 * np.exp(-1.1j)])[:MICS, None]
    noise = 1e-4 * (rng.normal(size=(MICS, n)) + 1j * rng.normal(size=(MICS, n)))
    return carrier + noise


def _walker(n: int, hz: float, level: float = 0.01) -> ComplexArray:
    t = np.arange(n) / RATE
    return np.repeat(level * np.exp(2j * np.pi * hz * t)[None, :], MICS, axis=0)


def _line_power(x: ComplexArray, hz: float) -> float:
    """Power of the line at `hz` (a windowed DFT at exactly that frequency, all mics)."""
    t = np.arange(x.shape[1]) / RATE
    w = np.hanning(x.shape[1])
    return float(np.sum(np.abs(x @ (w * np.exp(-2j * np.pi * hz * t))) ** 2) / np.sum(w) ** 2)


def _streamed(x: ComplexArray, block: int) -> tuple[ComplexArray, RotorCanceller]:
    canceller = RotorCanceller(RATE, CARRIER_HZ, MICS)
    parts = [canceller.process(x[:, s : s + block]) for s in range(0, x.shape[1], block)]
    return np.concatenate(parts, axis=1), canceller


def test_fractional_delay_reads_a_tone_between_samples() -> None:
    """Read between samples, a tone inside the front end's flat band (≤ 0.3 × the rate)
    is within -60 dB of its true value, and within -30 dB at 0.4 × the rate."""
    table = _fractional_delay_table()
    assert table.shape[0] == FD_PHASES
    np.testing.assert_allclose(table.sum(axis=1), 1.0)
    n = np.arange(64)
    for hz, limit_db in ((100.0, -60), (1200.0, -60), (0.4 * RATE, -30)):
        tone = np.exp(2j * np.pi * hz * n / RATE)
        for phase in (FD_PHASES // 8, FD_PHASES // 2, 7 * FD_PHASES // 8):
            at = 30
            value = tone[at - 7 : at + 9] @ table[phase]
            exact = np.exp(2j * np.pi * hz * (at + phase / FD_PHASES) / RATE)
            assert 20 * np.log10(abs(value - exact)) < limit_db


@pytest.mark.parametrize("period_s", [0.009, 0.021, 0.043])
def test_tracker_finds_the_blade_period(period_s: float) -> None:
    tracker = BladePeriodTracker(RATE, CARRIER_HZ)
    x = _room(tracker.window_len, 1) + _rotor(tracker.window_len, period_s, 2, sway_hz=8.0)
    found = tracker.measure(x, tracker.carrier(x))
    assert found.ok
    assert found.period_s == pytest.approx(period_s, rel=2e-3)


def test_tracker_trusts_no_comb_in_noise_or_a_walker() -> None:
    """Receiver noise, a walker's torso line and a limb's line: no rotor."""
    tracker = BladePeriodTracker(RATE, CARRIER_HZ)
    n = tracker.window_len
    for seed in range(20):
        x = _room(n, seed) + _walker(n, 310.0) + _walker(n, -900.0, 0.002)
        assert not tracker.measure(x, tracker.carrier(x)).ok


def _gait(n: int, hz: float, level: float) -> ComplexArray:
    """A walker's torso line: its Doppler swings ±60 Hz about `hz` at a 1.8 Hz step rate
    (the torso's speed varies by about a fifth over a stride [physics notes])."""
    t = np.arange(n) / RATE
    phase = 2 * np.pi * hz * t - 60.0 / 1.8 * np.cos(2 * np.pi * 1.8 * t)
    return np.repeat(level * np.exp(1j * phase)[None, :], MICS, axis=0)


def test_a_rotor_is_removed_and_a_walker_kept() -> None:
    """A 24-ms blade pass with a swaying head: once tracked, its echo drops by > 12 dB
    with a walker beside it, and the walker (between the comb's teeth, ten times weaker)
    comes out within -3 to +6.5 dB of its own power: the canceller's comb filter, not a
    removal (a walker is not predictable from one or two blade periods ago)."""
    n = round(6 * RATE)
    period = 0.024
    fan = _rotor(n, period, 3, sway_hz=6.0)
    walker = _gait(n, 13.5 / period, 0.003)
    base = _room(n, 4)
    out, canceller = _streamed(base + fan + walker, 200)
    assert canceller.active
    assert canceller.period_s == pytest.approx(period, rel=2e-3)
    without, _ = _streamed(base + fan, 200)
    late = slice(round(2 * RATE), n)  # after the tracker and the gains settle
    fan_left = np.mean(np.abs(without[:, late] - base[:, late]) ** 2)
    assert 10 * np.log10(fan_left / np.mean(np.abs(fan[:, late]) ** 2)) < -12
    walker_out = out[:, late] - without[:, late]
    ratio = np.mean(np.abs(walker_out) ** 2) / np.mean(np.abs(walker[:, late]) ** 2)
    assert -3.0 < 10 * np.log10(ratio) < 6.5


@pytest.mark.parametrize("on_s", [1.0, 1.13, 1.27])
def test_a_fan_switched_on_is_tracked_within_the_quiet_cadence(on_s: float) -> None:
    """A quiet room is measured only every QUIET_EVERY frames: a fan switched on is
    cancelled once a measured frame is full of it and PERSIST_HOPS frames agree, so
    within WINDOW_S + (QUIET_EVERY + PERSIST_HOPS) hops, wherever the switch falls
    between the measured frames (and not before it is on)."""
    n = round(4 * RATE)
    on = round(on_s * RATE)
    fan = _rotor(n, 0.021, 11, level=0.03, sway_hz=4.0)
    fan[:, :on] = 0.0
    x = _room(n, 12) + fan
    canceller = RotorCanceller(RATE, CARRIER_HZ, MICS)
    block = round(0.005 * RATE)
    first = None
    for s in range(0, n, block):
        canceller.process(x[:, s : s + block])
        if canceller.active and first is None:
            first = s + block
    assert first is not None
    delay_s = (first - on) / RATE
    assert 0.0 < delay_s <= WINDOW_S + (QUIET_EVERY + PERSIST_HOPS) * FRAME_HOP_S


def test_the_rotor_echo_alone_drops_by_twenty_db() -> None:
    n = round(5 * RATE)
    fan = _rotor(n, 0.017, 5, sway_hz=4.0)
    base = _room(n, 6)
    out, _ = _streamed(base + fan, 200)
    late = slice(round(2 * RATE), n)
    residual = out[:, late] - base[:, late]
    assert 10 * np.log10(np.mean(np.abs(residual) ** 2) / np.mean(np.abs(fan[:, late]) ** 2)) < -20


def test_without_a_rotor_the_baseband_passes_bit_for_bit() -> None:
    n = round(4 * RATE)
    x = _room(n, 7) + _walker(n, 250.0) + _walker(n, -1200.0, 0.001)
    out, canceller = _streamed(x, 200)
    assert np.array_equal(out, x)
    assert canceller.active_samples == 0


@pytest.mark.parametrize("block", [1, 37, 184, 200, 999, 20_000])
def test_any_block_size_gives_the_same_output(block: int) -> None:
    n = round(3 * RATE)
    x = _room(n, 8) + _rotor(n, 0.031, 9, sway_hz=5.0) + _walker(n, 400.0, 0.005)
    reference, canceller = _streamed(x, 200)
    assert canceller.active_samples > 0
    out, _ = _streamed(x, block)
    np.testing.assert_allclose(out, reference, rtol=0, atol=1e-12)


@pytest.mark.parametrize("block", [1, 200, 7_000])
def test_the_carrier_carried_lazily_is_the_whole_streams_one_pole(block: int) -> None:
    """Without a rotor only the carrier before the kept history is carried along (one
    product per block); the echo made from it when a rotor turns up is the stream's own
    one-pole mean, started at the first sample, taken off the kept samples."""
    from scipy import signal

    n = round(5 * RATE)
    x = _room(n, 12) * np.exp(2j * np.pi * 0.3 * np.arange(n) / RATE) + _walker(n, 90.0)
    canceller = RotorCanceller(RATE, CARRIER_HZ, MICS)
    for s in range(0, n, block):
        canceller.process(x[:, s : s + block])
    a = canceller._carrier_pole
    carrier, _ = signal.lfilter([1.0 - a], [1.0, -a], x, axis=1, zi=a * x[:, :1])
    kept = canceller._history.shape[1]
    assert kept > 0
    np.testing.assert_allclose(
        canceller._echo(canceller._history), (x - carrier)[:, n - kept :], rtol=0, atol=1e-12
    )


def test_disabled_is_the_identity() -> None:
    n = round(2 * RATE)
    x = _room(n, 10) + _rotor(n, 0.02, 11)
    canceller = RotorCanceller(RATE, CARRIER_HZ, MICS, enabled=False)
    assert canceller.process(x) is not None
    assert np.array_equal(canceller.process(x), x)
    assert not canceller.active


def test_the_chain_cancels_on_both_paths() -> None:
    """Audio through the front end and a node's baseband meet the same canceller (on by
    default): a baseband with a rotor in it comes out of the features different with it
    on, the same with it off."""
    n = round(3 * RATE)
    x = _room(n, 12) + _rotor(n, 0.02, 13, sway_hz=5.0)
    on = DspChain(96_000, CARRIER_HZ, MICS)
    off = DspChain(96_000, CARRIER_HZ, MICS, cancel_rotor=False)
    assert on.frontend.output_rate == RATE
    frames_on = on.process(x.T)
    frames_off = off.process(x.T)
    assert on.rotor.active and not off.rotor.active
    assert frames_on.features.shape == frames_off.features.shape
    # The cancelled room has less in its motion plane once the rotor is tracked.
    late = slice(30, None)
    assert frames_on.features[late, :, 0].mean() < frames_off.features[late, :, 0].mean() - 3.0


def test_the_cost_figures_are_measured() -> None:
    """The benchmark's compute rows: a quiet room costs the tracker alone, a tracked fan
    the predictor too (more; the figures themselves are machine-dependent)."""
    cost = rotor_cost_ms(seconds=2.0, repeats=1)
    assert set(cost) == {"quiet", "fan"}
    assert 0 < cost["quiet"] < cost["fan"]
