"""Find the carrier in a recording: the strongest stable tone above 17 kHz.

`uspd analyze` runs on WAV files whose carrier is unknown. The median (over time) of
short-time spectra keeps only tones present most of the time, so a cough or key
jingle near 20 kHz [doppler.js issue #5; Leighton 2020] does not win. The peak bin is
refined by parabolic interpolation, then by the slope of the demodulated phase over
the whole recording (sub-0.1 Hz), which the baseband mixer needs to keep the direct
path at DC.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import signal

from .physics import MIN_CARRIER_HZ

# A carrier must stand this far above the median spectrum around it.
MIN_PROMINENCE_DB = 20.0
SEGMENT_S = 0.1
MIN_SECONDS = 0.5


def detect_carrier(audio: npt.ArrayLike, sample_rate: int) -> float:
    """Carrier frequency in Hz of a recording (frames,) or (frames, channels).

    ValueError when the recording is too short or holds no stable tone above 17 kHz.
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[0] < MIN_SECONDS * sample_rate:
        raise ValueError(f"recording too short to find the carrier (need ≥ {MIN_SECONDS} s)")
    nyquist = sample_rate / 2.0
    if nyquist <= MIN_CARRIER_HZ:
        raise ValueError(
            f"sample rate {sample_rate} Hz cannot hold an ultrasonic carrier "
            f"(> {MIN_CARRIER_HZ:.0f} Hz)"
        )
    mono = x - np.mean(x, axis=0)
    nperseg = int(2 ** math.ceil(math.log2(SEGMENT_S * sample_rate)))
    freqs, _, spec = signal.spectrogram(mono.T, fs=sample_rate, nperseg=nperseg, axis=-1)
    power = np.median(np.mean(spec, axis=0), axis=-1)  # mean over mics, median over time
    band = (freqs >= MIN_CARRIER_HZ) & (freqs <= nyquist - 200.0)
    candidates = np.flatnonzero(band)
    peak = int(candidates[np.argmax(power[candidates])])
    floor = float(np.median(power[candidates])) + 1e-30
    if 10.0 * math.log10(power[peak] / floor + 1e-30) < MIN_PROMINENCE_DB:
        raise ValueError(f"no stable tone above {MIN_CARRIER_HZ / 1000:.0f} kHz (no carrier)")
    coarse = float(freqs[peak]) + _parabolic_offset(power, peak) * (freqs[1] - freqs[0])
    return _refine_by_phase(mono, sample_rate, coarse)


def _parabolic_offset(power: npt.NDArray[np.float64], k: int) -> float:
    """Sub-bin peak offset (bins) from a parabola through log power at k-1, k, k+1."""
    if k <= 0 or k >= power.size - 1:
        return 0.0
    a, b, c = np.log(power[k - 1 : k + 2] + 1e-30)
    denominator = a - 2.0 * b + c
    return 0.0 if denominator == 0 else float(np.clip(0.5 * (a - c) / denominator, -0.5, 0.5))


def _refine_by_phase(x: npt.NDArray[np.float64], sample_rate: int, estimate: float) -> float:
    """Correct `estimate` by the mean phase slope of the carrier over the recording."""
    step = max(1, round(0.02 * sample_rate))  # 20 ms phase samples: ±25 Hz unambiguous
    n = (x.shape[0] // step) * step
    t = np.arange(n) / sample_rate
    mixed = x[:n].T * np.exp(-2j * math.pi * estimate * t)[None, :]
    phasors = mixed.reshape(x.shape[1], -1, step).mean(axis=-1).sum(axis=0)
    phase = np.unwrap(np.angle(phasors))
    weights = np.abs(phasors)
    centre = np.arange(phase.size) * step / sample_rate
    # Weighted least-squares slope in closed form (polyfit → LAPACK wakes BLAS threads).
    w = weights**2
    mc = np.sum(w * centre) / np.sum(w)
    mp = np.sum(w * phase) / np.sum(w)
    slope = np.sum(w * (centre - mc) * (phase - mp)) / np.sum(w * (centre - mc) ** 2)
    return float(estimate + slope / (2.0 * math.pi))
