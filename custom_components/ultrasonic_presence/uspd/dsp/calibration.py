"""Carrier and emission-level calibration by sweep, and a passive health monitor.

Mass-produced speakers and mics vary in ultrasonic gain and phase, so the best carrier
and the lowest sufficient level differ per device and room; Echo calibrates by sweep
[Echo article; US11513216], SoundWave picks the loudest 18–22 kHz frequency. Steps
(≤ 10 s of audio in total):

1. quiet capture (emitter off, QUIET_S): noise PSD and interfering tones;
2. each candidate carrier emitted briefly (DWELL_S) at the highest allowed level: its
   received level gives the path gain, its sub-blocks the stability;
3. SNR per candidate = carrier power / (noise + interference power in its Doppler band,
   f0 ± 2·V_MAX_MPS·f0/c) — a tone inside that band counts fully against it;
4. choice: the high band (≥ 30 kHz: inaudible, Echo uses ≥ 32 kHz) when one of its
   carriers reaches the target, else the best carrier reaching it, else the best one;
   then the *lowest* level giving the target SNR [Echo: "lowest possible emission"],
   within the user's maximum and, when the speaker's SPL is known, the exposure limits
   (75 dB SPL near 20 kHz, 110 dB at 25–50 kHz [Howard, Hansen & Zander 2004]);
5. a confirmation capture at the chosen carrier and level, and one corrected level if
   the speaker's response is not linear in level (compression) — at most 9.6 s in all
   (1 + 40 × 0.18 + 2 × 0.4 at 96 kHz, "auto" band).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage, signal

from ..audio.source import AudioSource
from .features import V_MAX_MPS
from .frontend import max_carrier_hz
from .physics import doppler_hz, exposure_limit_db_spl

FloatArray = npt.NDArray[np.float64]
Band = Literal["auto", "high", "low"]

HIGH_BAND_HZ = (30_000.0, 45_000.0)
LOW_BAND_HZ = (18_000.0, 22_000.0)
STEP_HZ = 500.0
QUIET_S = 1.0
DWELL_S = 0.18
SETTLE_S = 0.05  # of each dwell, skipped: output latency and speaker ringing
CONFIRM_S = 0.4
LEVEL_TOLERANCE_DB = 1.0
TARGET_SNR_DB = 70.0  # Doppler-band SNR; a walker at ~4 m returns ≈ -65 dBc (1/(r1·r2))
MIN_SNR_DB = 25.0  # below this nothing is usable: "no ultrasonic response"
MIN_LEVEL_DBFS = -60.0
EXPOSURE_MARGIN_DB = 10.0
TONE_PROMINENCE_DB = 15.0
UNSTABLE_DB = 1.0
# Noise floor: local mean over ±FLOOR_SPAN_HZ of bins not TONAL_FACTOR above the median.
FLOOR_SPAN_HZ = 2_500.0
TONAL_FACTOR = 3.0
# Below this SNR at the maximum level the high band counts as "no response".
HIGH_BAND_RESPONSE_DB = 40.0


class CalibrationError(Exception):
    """Calibration failed; `code` is a stable reason (a SourceError code)."""

    def __init__(self, message: str, code: str = "no_ultrasonic_response") -> None:
        super().__init__(message)
        self.code = code


class NoUltrasonicResponseError(CalibrationError):
    """No candidate carrier reached the microphones above the noise."""


@dataclass(frozen=True)
class CandidateMeasurement:
    """One swept carrier."""

    freq_hz: float
    gain_db: float  # received dBFS minus emitted dBFS (speaker + path + mic)
    noise_dbfs: float  # noise + interference power in its Doppler band
    snr_at_max_db: float  # SNR at the highest allowed level
    max_level_dbfs: float  # highest allowed level at this frequency
    stability_db: float  # spread of the received level across sub-blocks


@dataclass(frozen=True)
class CalibrationResult:
    """Chosen carrier and level, plus what was measured (stored in the config entry)."""

    carrier_hz: float
    level_dbfs: float
    snr_db: float  # measured Doppler-band SNR at the chosen carrier and level
    sample_rate: int
    received_dbfs: float  # carrier level at the mics at the chosen level (mean power)
    noise_dbfs: float  # noise + interference in the chosen Doppler band
    target_snr_db: float
    audio_seconds: float
    response: list[CandidateMeasurement] = field(default_factory=list)
    tones: list[tuple[float, float]] = field(default_factory=list)  # (Hz, dBFS) found quiet
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        data = asdict(self)
        data["tones"] = [list(t) for t in self.tones]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CalibrationResult:
        """Inverse of to_dict (unknown keys ignored)."""
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in known}
        values["response"] = [CandidateMeasurement(**r) for r in data.get("response", [])]
        values["tones"] = [(float(f), float(level)) for f, level in data.get("tones", [])]
        values["warnings"] = list(data.get("warnings", []))
        return cls(**values)


def candidate_carriers(sample_rate: int, band: Band) -> list[float]:
    """Carriers to sweep for this card rate and band preference."""
    top = max_carrier_hz(sample_rate, margin_hz=500.0)

    def grid(lo: float, hi: float) -> list[float]:
        hi = min(hi, top)
        return [float(f) for f in np.arange(lo, hi + 1.0, STEP_HZ)] if hi >= lo else []

    high = grid(*HIGH_BAND_HZ) if band in ("auto", "high") else []
    low = grid(*LOW_BAND_HZ) if band in ("auto", "low") else []
    if band == "high" and not high:
        raise CalibrationError(
            f"the 30–45 kHz band needs a 96 kHz card; {sample_rate} Hz reaches "
            f"{top / 1000:.1f} kHz — choose the 18–22 kHz band",
            "sample_rate_too_low",
        )
    if not high and not low:
        raise CalibrationError(
            f"sample rate {sample_rate} Hz is too low for an ultrasonic carrier",
            "sample_rate_too_low",
        )
    return high + low


def max_level_for(
    freq_hz: float, max_level_dbfs: float, spl_at_full_scale_db: float | None
) -> float:
    """User maximum, lowered to stay EXPOSURE_MARGIN_DB under the exposure limit if known."""
    if spl_at_full_scale_db is None:
        return max_level_dbfs
    limit = exposure_limit_db_spl(freq_hz) - EXPOSURE_MARGIN_DB - spl_at_full_scale_db
    return min(max_level_dbfs, limit)


def doppler_halfwidth_hz(freq_hz: float) -> float:
    """Half-width of the band the features use around a carrier."""
    return doppler_hz(V_MAX_MPS, freq_hz)


def calibrate(
    source: AudioSource,
    *,
    max_level_dbfs: float = -6.0,
    band: Band = "auto",
    target_snr_db: float = TARGET_SNR_DB,
    spl_at_full_scale_db: float | None = None,
) -> CalibrationResult:
    """Sweep carriers on `source`; pick a carrier and the lowest level reaching the target.

    Leaves the emitter off. Raises NoUltrasonicResponseError when no carrier is heard,
    CalibrationError('sample_rate_too_low') when the band cannot fit the card's rate.
    """
    remote = getattr(source, "remote_calibrate", None)
    if callable(remote):  # a sensor node: the full-band audio stays there
        result: CalibrationResult = remote(
            max_level_dbfs=max_level_dbfs,
            band=band,
            target_snr_db=target_snr_db,
            spl_at_full_scale_db=spl_at_full_scale_db,
        )
        return result
    fs = source.sample_rate
    candidates = candidate_carriers(fs, band)
    source.set_emission(None, MIN_LEVEL_DBFS)
    quiet = _read(source, QUIET_S)
    noise_model = _noise_model(quiet, fs)
    tones = _find_tones(noise_model.freqs, noise_model.psd)
    seconds = QUIET_S
    measurements = []
    for freq in candidates:
        level = max_level_for(freq, max_level_dbfs, spl_at_full_scale_db)
        received, stability = _measure(source, freq, level, DWELL_S)
        seconds += DWELL_S
        noise = _band_power_dbfs(noise_model, freq)
        measurements.append(
            CandidateMeasurement(
                freq_hz=freq,
                gain_db=received - level,
                noise_dbfs=noise,
                snr_at_max_db=_snr(received, noise),
                max_level_dbfs=level,
                stability_db=stability,
            )
        )
    source.set_emission(None, MIN_LEVEL_DBFS)
    best = max(measurements, key=lambda m: m.snr_at_max_db)
    if best.snr_at_max_db < MIN_SNR_DB:
        raise NoUltrasonicResponseError(
            f"no ultrasonic response: the best carrier ({best.freq_hz / 1000:.1f} kHz) is only "
            f"{best.snr_at_max_db:.0f} dB above the noise at {best.max_level_dbfs:.0f} dBFS — "
            "check that the speaker plays and the microphone records above 17 kHz "
            "(raw capture, no echo cancellation or noise suppression)"
        )
    chosen, warnings = _choose(measurements, target_snr_db)
    level = float(
        np.clip(
            chosen.max_level_dbfs - (chosen.snr_at_max_db - target_snr_db),
            MIN_LEVEL_DBFS,
            chosen.max_level_dbfs,
        )
    )
    # Confirm at the chosen level; speakers compress, so correct once if it missed.
    received, stability = _measure(source, chosen.freq_hz, level, CONFIRM_S)
    seconds += CONFIRM_S
    snr = _snr(received, chosen.noise_dbfs)
    if abs(snr - target_snr_db) > LEVEL_TOLERANCE_DB:
        # Secant through the sweep point (maximum level) and this one: the local slope.
        span = chosen.max_level_dbfs - level
        slope = (chosen.snr_at_max_db - snr) / span if span > LEVEL_TOLERANCE_DB else 1.0
        step = (target_snr_db - snr) / float(np.clip(slope, 0.25, 1.5))
        corrected = float(np.clip(level + step, MIN_LEVEL_DBFS, chosen.max_level_dbfs))
        if abs(corrected - level) > LEVEL_TOLERANCE_DB / 2:
            level = corrected
            received, stability = _measure(source, chosen.freq_hz, level, CONFIRM_S)
            seconds += CONFIRM_S
            snr = _snr(received, chosen.noise_dbfs)
    source.set_emission(None, MIN_LEVEL_DBFS)
    if stability > UNSTABLE_DB:
        warnings.append(
            f"the received carrier fluctuates by {stability:.1f} dB: check for loose "
            "hardware or moving objects near the device"
        )
    if snr < target_snr_db - 3.0:
        warnings.append(
            f"SNR {snr:.0f} dB is below the {target_snr_db:.0f} dB target at the maximum "
            f"level {chosen.max_level_dbfs:.0f} dBFS: expect reduced range"
        )
    return CalibrationResult(
        carrier_hz=chosen.freq_hz,
        level_dbfs=level,
        snr_db=snr,
        sample_rate=fs,
        received_dbfs=received,
        noise_dbfs=chosen.noise_dbfs,
        target_snr_db=target_snr_db,
        audio_seconds=seconds,
        response=measurements,
        tones=tones,
        warnings=warnings,
    )


def _choose(
    measurements: list[CandidateMeasurement], target_snr_db: float
) -> tuple[CandidateMeasurement, list[str]]:
    """Prefer the high band when it reaches the target; else the best that does."""
    warnings: list[str] = []
    high = [m for m in measurements if m.freq_hz >= HIGH_BAND_HZ[0]]
    reaching = [m for m in measurements if m.snr_at_max_db >= target_snr_db]
    high_reaching = [m for m in reaching if m.freq_hz >= HIGH_BAND_HZ[0]]
    pool = high_reaching or reaching or measurements
    chosen = max(pool, key=lambda m: m.snr_at_max_db)
    if high and max(m.snr_at_max_db for m in high) < HIGH_BAND_RESPONSE_DB:
        warnings.append(
            "no ultrasonic response above 25 kHz — use the 18–22 kHz band "
            "(the speaker or microphone does not reproduce higher frequencies)"
        )
    elif high and chosen.freq_hz < HIGH_BAND_HZ[0]:
        warnings.append(
            "the 30–45 kHz band is too weak for the target SNR: using the 18–22 kHz band, "
            "which children and pets may hear"
        )
    if chosen.freq_hz < 25_000.0:
        warnings.append("an 18–22 kHz carrier is audible to pets and to some people")
    return chosen, warnings


def _measure(source: AudioSource, freq: float, level: float, seconds: float) -> tuple[float, float]:
    """Emit `freq` at `level` for `seconds`; received level and stability after settling."""
    source.set_emission(freq, level)
    block = _read(source, seconds)[round(SETTLE_S * source.sample_rate) :]
    return _carrier_level(block, source.sample_rate, freq)


def _read(source: AudioSource, seconds: float) -> FloatArray:
    block: FloatArray = np.asarray(
        source.read(round(seconds * source.sample_rate)), dtype=np.float64
    )
    return block


def _snr(received_dbfs: float, noise_dbfs: float) -> float:
    """Carrier power (peak amplitude A → A²/2) over the Doppler-band noise power."""
    return received_dbfs - 3.0103 - noise_dbfs


def _carrier_level(block: FloatArray, fs: int, freq: float) -> tuple[float, float]:
    """Received peak level (dBFS, mean power over mics) and its spread over 3 sub-blocks."""
    n = block.shape[0] // 3 * 3
    t = np.arange(n) / fs
    window = np.tile(signal.windows.hann(n // 3), 3)
    mixed = block[:n] * (window * np.exp(-2j * math.pi * freq * t))[:, None]
    amplitude = 2.0 * np.abs(mixed.reshape(3, n // 3, -1).sum(axis=1)) / window[: n // 3].sum()
    power = np.mean(amplitude**2, axis=1)  # per sub-block, mean over mics
    levels = 10.0 * np.log10(power + 1e-30)
    return float(10.0 * np.log10(np.mean(power) + 1e-30)), float(np.ptp(levels))


@dataclass(frozen=True)
class NoiseModel:
    """The quiet capture's PSD split into a smooth floor and tonal excess.

    Mic self-noise and room noise are spectrally smooth over kHz; interference is
    tonal. Estimating the floor from ±FLOOR_SPAN_HZ (not just one candidate's Doppler
    band) cuts its error from ≈0.1 to ≈0.06 dB — enough to break near-ties between
    carriers — while bins well above the floor (tones) still count in full.
    """

    freqs: FloatArray
    psd: FloatArray  # one-sided power/Hz, mean over mics
    floor: FloatArray  # smooth noise floor, power/Hz
    tonal: npt.NDArray[np.bool_]  # bins counted at their own power (interference)


def _noise_model(quiet: FloatArray, fs: int) -> NoiseModel:
    """Welch PSD (10 Hz bins, averaged over mics) and its robust local-mean floor."""
    freqs, psd = signal.welch(quiet.T, fs=fs, nperseg=fs // 10, axis=-1)
    mean_psd: FloatArray = np.mean(np.atleast_2d(psd), axis=0).astype(np.float64)
    df = float(freqs[1] - freqs[0])
    size = 2 * round(FLOOR_SPAN_HZ / df) + 1
    median = ndimage.median_filter(mean_psd, size=size, mode="nearest")
    tonal = mean_psd > TONAL_FACTOR * median
    kept = np.where(tonal, 0.0, mean_psd)
    count = ndimage.uniform_filter((~tonal).astype(np.float64), size=size, mode="nearest")
    floor = ndimage.uniform_filter(kept, size=size, mode="nearest") / np.maximum(count, 1e-9)
    return NoiseModel(freqs.astype(np.float64), mean_psd, floor, tonal)


def _band_power_dbfs(noise: NoiseModel, carrier: float) -> float:
    """Noise + interference power in the carrier's Doppler band (carrier bin excluded)."""
    half = doppler_halfwidth_hz(carrier)
    offset = np.abs(noise.freqs - carrier)
    inside = (offset <= half) & (offset > 10.0)
    per_bin = np.where(noise.tonal[inside], noise.psd[inside], noise.floor[inside])
    power = float(np.sum(per_bin) * (noise.freqs[1] - noise.freqs[0]))
    return 10.0 * math.log10(power + 1e-30)


def _find_tones(freqs: FloatArray, psd: FloatArray) -> list[tuple[float, float]]:
    """Stationary tones above 17 kHz standing TONE_PROMINENCE_DB over the local floor."""
    band = freqs >= 17_000.0
    if not np.any(band):
        return []
    floor = signal.medfilt(psd, 101)
    peaks, _ = signal.find_peaks(psd, height=floor * 10.0 ** (TONE_PROMINENCE_DB / 10.0))
    df = freqs[1] - freqs[0]
    tones = []
    for k in peaks:
        if freqs[k] < 17_000.0:
            continue
        # Peak amplitude of a sinusoid from its Hann-spread power (≈ 3 bins).
        power = float(np.sum(psd[max(k - 2, 0) : k + 3]) * df)
        tones.append((float(freqs[k]), 10.0 * math.log10(2.0 * power + 1e-30)))
    return tones
