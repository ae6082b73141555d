"""Calibration against simulated devices whose responses and tones are known exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uspd.dsp.calibration import (
    MIN_LEVEL_DBFS,
    TARGET_SNR_DB,
    CalibrationError,
    CalibrationResult,
    CandidateMeasurement,
    NoUltrasonicResponseError,
    _choose,
    calibrate,
    candidate_carriers,
    doppler_halfwidth_hz,
)
from uspd.health import HealthMonitor
from uspd.sim import DeviceSpec, Scenario, SimulatedSource, Tone

MAX_LEVEL = -6.0


def _true_snr(source: SimulatedSource, freq: float, level: float) -> float:
    """Ground-truth Doppler-band SNR: simulator carrier power over noise + tones in band."""
    scenario = source.scenario
    carrier = float(np.mean(np.abs(source.received_carrier(freq, level)) ** 2) / 2)
    half = doppler_halfwidth_hz(freq)
    assert scenario.device.mic_noise_dbfs_hz is not None
    noise = 10 ** (scenario.device.mic_noise_dbfs_hz / 10) * (2 * half - 20.0)
    for tone_freq, tone_dbfs, _, duty in source.tone_layout():
        if abs(tone_freq - freq) <= half:
            noise += duty * 10 ** (tone_dbfs / 10) / 2
    return 10 * math.log10(carrier / noise)


def _device(seed: int, sample_rate: int) -> SimulatedSource:
    """A random device; one tone sits in the Doppler band of its best tone-free carrier."""
    rng = np.random.default_rng(1000 + seed)
    base = Scenario(
        sample_rate=sample_rate,
        n_mics=1,
        duration_s=11.0,
        seed=seed,
        device=DeviceSpec(hw_seed=seed),
    )
    clean = SimulatedSource(base)
    grid = candidate_carriers(sample_rate, "auto")
    best = max(grid, key=lambda f: _true_snr(clean, f, MAX_LEVEL))
    tones = [Tone(freq_hz=best + float(rng.uniform(-300, 300)), level_dbfs=-60.0, drift_hz=2.0)]
    tones += [
        Tone(
            freq_hz=float(rng.uniform(18_000, 45_000)),
            level_dbfs=float(rng.uniform(-95, -60)),
            drift_hz=2.0,
        )
        for _ in range(2)
    ]
    return SimulatedSource(base.replace(actors=tuple(tones)))


def _truth(source: SimulatedSource) -> tuple[float, float]:
    """Best carrier by the calibration's own rule on true SNRs, and its minimum level."""
    grid = candidate_carriers(source.sample_rate, "auto")
    truth = [
        CandidateMeasurement(f, 0.0, 0.0, _true_snr(source, f, MAX_LEVEL), MAX_LEVEL, 0.0)
        for f in grid
    ]
    best, _ = _choose(truth, TARGET_SNR_DB)
    level = MAX_LEVEL - (best.snr_at_max_db - TARGET_SNR_DB)
    return best.freq_hz, float(np.clip(level, MIN_LEVEL_DBFS, MAX_LEVEL))


def test_fifty_random_devices() -> None:
    """≥ 95 % pick the best carrier, level within 3 dB of the minimum, ≤ 10 s of audio.

    Strictly by frequency: within 0.5 kHz of the true best on 48/50 (the two misses are
    carriers whose true SNR is within 0.1 dB of the best). Allowing such ties (true SNR
    within 0.5 dB: the measurement cannot and need not break them) gives 50/50; levels
    land within 0.4 dB of the true minimum.
    """
    near = as_good = level_ok = 0
    for seed in range(50):
        source = _device(seed, 96_000 if seed % 5 else 48_000)
        best_hz, _ = _truth(source)
        result = calibrate(source, max_level_dbfs=MAX_LEVEL)
        assert result.audio_seconds <= 10.0
        is_near = abs(result.carrier_hz - best_hz) <= 500.0
        tie = _true_snr(source, result.carrier_hz, MAX_LEVEL) >= (
            _true_snr(source, best_hz, MAX_LEVEL) - 0.5
        )
        near += is_near
        as_good += is_near or tie
        level_ok += abs(result.level_dbfs - _truth_level(source, result.carrier_hz)) <= 3.0
    assert near >= 48  # the issue's ≥ 95 %
    assert as_good >= 49
    assert level_ok >= 48


def _truth_level(source: SimulatedSource, freq: float) -> float:
    """Lowest level reaching the target at `freq` (true SNR is linear in level)."""
    level = MAX_LEVEL - (_true_snr(source, freq, MAX_LEVEL) - TARGET_SNR_DB)
    return float(np.clip(level, MIN_LEVEL_DBFS, MAX_LEVEL))


def test_no_ultrasonic_response_raises() -> None:
    scenario = Scenario(
        sample_rate=48_000,
        n_mics=1,
        duration_s=11.0,
        device=DeviceSpec(hw_seed=1, speaker_cutoff_hz=3_000.0),
    )
    with pytest.raises(NoUltrasonicResponseError, match="no ultrasonic response"):
        calibrate(SimulatedSource(scenario))


def test_high_band_dead_falls_back_with_warning() -> None:
    """A speaker dead above 25 kHz: an 18–22 kHz carrier and the warning users need."""
    scenario = Scenario(
        sample_rate=96_000,
        n_mics=2,
        duration_s=11.0,
        device=DeviceSpec(hw_seed=2, speaker_cutoff_hz=14_000.0),
    )
    result = calibrate(SimulatedSource(scenario))
    assert 18_000 <= result.carrier_hz <= 22_000
    assert any("above 25 kHz" in w for w in result.warnings)


def test_band_preference_and_rate_errors() -> None:
    assert max(candidate_carriers(96_000, "low")) <= 22_000
    assert min(candidate_carriers(96_000, "high")) >= 30_000
    assert max(candidate_carriers(44_100, "auto")) < 22_050 - 1_250
    with pytest.raises(CalibrationError, match="96 kHz") as err:
        candidate_carriers(48_000, "high")
    assert err.value.code == "sample_rate_too_low"


def test_result_round_trip_and_health() -> None:
    source = _device(3, 96_000)
    result = calibrate(source)
    restored = CalibrationResult.from_dict(result.to_dict())
    assert restored == result
    assert len(result.response) == len(candidate_carriers(96_000, "auto"))
    assert result.response[0].stability_db < 1.0
    monitor = HealthMonitor(result)
    assert monitor.expected_noise_dbc_hz < -100


def test_cli_calibrate(capsys: pytest.CaptureFixture[str]) -> None:
    """`uspd calibrate --scenario empty --json` prints a storable result."""
    import json

    from uspd import cli

    assert cli.main(["calibrate", "--scenario", "empty", "--rate", "48000", "--mics", "1",
                     "--json"]) == 0  # fmt: skip
    result = CalibrationResult.from_dict(json.loads(capsys.readouterr().out))
    assert 18_000 <= result.carrier_hz <= 22_000
    assert result.audio_seconds <= 10.0


class _CompressingSpeaker:
    """Wraps a simulated device whose speaker compresses above -30 dBFS (2:1)."""

    def __init__(self, inner: SimulatedSource) -> None:
        self.inner = inner

    @staticmethod
    def effective(level: float) -> float:
        return level if level < -30.0 else -30.0 + (level + 30.0) / 2.0

    @property
    def sample_rate(self) -> int:
        return self.inner.sample_rate

    @property
    def channels(self) -> int:
        return self.inner.channels

    def read(self, frames: int) -> np.ndarray:
        return self.inner.read(frames)

    def set_emission(self, carrier_hz: float | None, level_dbfs: float) -> None:
        self.inner.set_emission(carrier_hz, self.effective(level_dbfs))

    def close(self) -> None:
        self.inner.close()


def test_level_confirmed_on_a_compressing_speaker() -> None:
    """Extrapolating from the maximum level misses on a compressing speaker; the
    confirmation step corrects the level so the target SNR is met within 1.5 dB."""
    inner = _device(11, 96_000)
    result = calibrate(_CompressingSpeaker(inner), max_level_dbfs=MAX_LEVEL, target_snr_db=62.0)
    achieved = _true_snr(inner, result.carrier_hz, _CompressingSpeaker.effective(result.level_dbfs))
    assert result.level_dbfs > -30.0  # inside the compressing range
    assert abs(achieved - 62.0) <= 1.0
    assert abs(result.snr_db - achieved) <= 1.0
    assert result.audio_seconds <= 10.0
