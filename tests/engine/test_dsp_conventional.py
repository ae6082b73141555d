"""Conventional Doppler-energy detector and the calibration health monitor."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uspd.dsp import testsignals as ts
from uspd.dsp.calibration import CalibrationResult
from uspd.dsp.chain import DspChain
from uspd.dsp.conventional import ConventionalDetector
from uspd.dsp.features import FEATURE_FLOOR_DB, FRAME_HOP_S, N_BINS, N_PLANES, FeatureFrames
from uspd.health import HealthMonitor


def test_detects_walker_not_empty_room() -> None:
    quiet = ts.render(ts.Scene(mics=2, carrier_hz=20_000.0), 6.0, 48_000, seed=1)
    walk = ts.render(
        ts.Scene(mics=2, carrier_hz=20_000.0, walker=ts.Walker(near_m=2.5, far_m=4.0)),
        6.0,
        48_000,
        seed=2,
    )
    chain = DspChain(48_000, 20_000.0, 2)
    detector = ConventionalDetector()
    a = chain.process(quiet)
    first = detector.update(a.features, a.carrier_ok & a.settled)
    b = chain.process(walk)
    second = detector.update(b.features, b.carrier_ok & b.settled)
    assert not first.motion[20:].any()
    assert second.motion[20:].mean() > 0.9
    assert np.count_nonzero(np.diff(second.motion.astype(int))) <= 2  # hysteresis: no chatter


def test_floor_tracks_a_louder_room() -> None:
    """A persistent 10 dB rise of the noise floor is absorbed within minutes."""
    detector = ConventionalDetector()
    frames = np.full((6_000, N_BINS, N_PLANES), -130.0, dtype=np.float32)
    frames[400:] += 10.0
    out = detector.update(frames)
    assert out.motion[400:420].any()  # the step itself looks like motion at first
    assert not out.motion[-100:].any()  # ...then the floor has followed


CALIBRATION = CalibrationResult(
    carrier_hz=40_000.0,
    level_dbfs=-20.0,
    snr_db=70.0,
    sample_rate=96_000,
    received_dbfs=-40.0,
    noise_dbfs=-113.0,
    target_snr_db=70.0,
    audio_seconds=9.5,
)


def _frames(n: int, carrier_dbfs: float, noise_dbc_hz: float) -> FeatureFrames:
    carrier = np.full((n, 2), 10 ** (carrier_dbfs / 20), dtype=np.complex128)
    return FeatureFrames(
        features=np.full((n, N_BINS, N_PLANES), noise_dbc_hz, dtype=np.float32),
        carrier=carrier,
        carrier_ok=np.ones(n, dtype=bool),
        settled=np.ones(n, dtype=bool),
        music=np.zeros(n, dtype=bool),
        sensitivity_reduced=np.zeros(n, dtype=bool),
        music_level_db=np.full(n, -300.0),
        residual_level_db=np.full(n, -60.0),
        guard_level_db=np.full(n, -90.0),
    )


def test_health_monitor() -> None:
    calibration = CALIBRATION
    monitor = HealthMonitor(calibration)
    expected = monitor.expected_noise_dbc_hz
    received = 10 * math.log10(10 ** (calibration.received_dbfs / 10))
    hold = round(HealthMonitor.HOLD_S / FRAME_HOP_S)
    assert not monitor.update(_frames(2 * hold, received, expected)).needs_recalibration
    weak = monitor.update(_frames(hold - 5, received - 20.0, expected))
    assert not weak.needs_recalibration  # not yet persistent
    status = monitor.update(_frames(10, received - 20.0, expected))
    assert status.needs_recalibration
    assert "carrier" in status.reasons[0]
    assert status.carrier_drop_db > 19
    noisy = HealthMonitor(calibration).update(_frames(hold + 1, received, expected + 25.0))
    assert noisy.needs_recalibration and "noise" in noisy.reasons[0]


def test_health_statuses_do_not_depend_on_block_size() -> None:
    """The pipeline hands the monitor a block's frames at once: the status after each
    frame is the same as frame by frame. Unsettled frames (a carrier jump) count for
    nothing and report the latest settled frame's figures."""
    calibration = CALIBRATION
    hold = round(HealthMonitor.HOLD_S / FRAME_HOP_S)
    expected = HealthMonitor(calibration).expected_noise_dbc_hz
    weak = _frames(hold + 20, -60.0, expected)
    weak.features[::3] += np.linspace(0.0, 30.0, N_BINS, dtype=np.float32)[None, :, None]
    weak.settled[hold // 2 : hold // 2 + 7] = False
    whole = HealthMonitor(calibration).update_each(weak)
    single = HealthMonitor(calibration)
    one_by_one = [single.update(weak.part(i, i + 1)) for i in range(len(whole))]
    assert whole == one_by_one
    assert not whole[hold].needs_recalibration  # seven frames did not count
    assert whole[hold + 7].needs_recalibration
    assert whole[hold // 2 + 3].carrier_drop_db == pytest.approx(20.0)
    assert HealthMonitor(calibration).update_each(_frames(0, -40.0, expected)) == []


def test_blank_frames_carry_no_evidence() -> None:
    """Frames blanked for a missing carrier neither seed the floor nor trigger motion."""
    frames = np.full((400, N_BINS, N_PLANES), -125.0, dtype=np.float32)
    frames[:100] = FEATURE_FLOOR_DB
    out = ConventionalDetector().update(frames)
    assert not out.motion.any()
