"""Blade-synchronous cancelling of a running fan — feasibility (research, not shipped).

Why: a floor fan's blade tips sweep every walking speed, so a walker beside a running or
spinning-up fan is buried in its Doppler. Twelve of the benchmark's thirteen missed
walk-ins are such rooms (docs/bench/HISTORY.md). But a rotor's echo repeats: its N
blades are back where they were every 1/(N·f_rot) s, so the complex baseband repeats
with that period, up to a slowly turning phase while the head oscillates. This module
predicts what repeats from one and two periods ago and subtracts it, as a speech codec's
long-term ("pitch") predictor does (Atal & Schroeder, "Adaptive predictive coding of
speech signals", Bell Syst. Tech. J. 49, 1970). A walker's echo does not repeat at that
lag, so it stays.

The period comes from the signal alone. A periodic signal's spectrum is a comb of lines
1/T apart, whatever their offset (the oscillating head shifts them all), so the inverse
FFT of the log-compressed power spectrum (a cepstrum: Bogert, Healy & Tukey 1963; Noll
1967 for pitch) peaks at T. It is read over the last TRACK_WINDOW_S, refined on a fine lag
grid, and trusted only when the same comb shows beyond LIMB_MPS (where torsos, curtains
and music's low sidebands are not) with the same period, hop after hop.

Offline (whole scenes as arrays): it is a probe of the idea on the simulator. Nothing here
is imported by the engine.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import ndimage, signal

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]
BoolArray = npt.NDArray[np.bool_]

TRACK_WINDOW_S = 0.2
TRACK_HOP_S = 0.05
LAG_MIN_S = 0.005
"""Shortest blade period looked for: 6 blades at 33 rev/s."""
LAG_MAX_S = 0.12
"""Longest: 3 blades at 2.8 rev/s (early in a spin-up)."""
COMB_MIN_HZ = 30.0
"""Lines nearer the carrier are left out of the period estimate: clutter, breathing,
a seated person's minor motion, the oscillating head's own slow Doppler."""
LIMB_MPS = 3.0
"""The gate's band starts here: beyond a walker's torso (≤ 1.6 m/s) and music's first
sidebands, inside a fan's blade-tip speeds (6–30 m/s) [physics notes]."""
MIN_CONTRAST = 12.0
"""Gate: the comb's cepstral peak over the median over all lags, beyond LIMB_MPS. Noise,
curtains and music (training-pool rooms, not the development suite): median 5.4–5.9,
99th percentile 12–21; tracked fans 20–200."""
AGREE = 0.05
PERSIST_HOPS = 3
PREDICTOR_TAPS = 2
GAIN_TAU_S = 0.1
"""Memory of the predictor's complex gains: an oscillating head turns the echo's phase
by up to ≈ 20 Hz, so the gains must follow within a tenth of a second."""
UPSAMPLE = 8
FINE_STEPS = 16
CARRIER_MEAN_S = 0.25


def normalized(x: ComplexArray, fs: float) -> tuple[ComplexArray, ComplexArray]:
    """(c, r): each mic's carrier (centred running mean) and its echo x/c − 1."""
    width = max(3, round(CARRIER_MEAN_S * fs))
    c: ComplexArray = ndimage.uniform_filter1d(x.real, width, axis=1) + 1j * (
        ndimage.uniform_filter1d(x.imag, width, axis=1)
    )
    r: ComplexArray = x / c - 1.0
    return c, r


def track(
    r: ComplexArray, fs: float, *, f_lo: float = COMB_MIN_HZ, refine: bool = True
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(hop end times, period s, contrast) from windows of TRACK_WINDOW_S ending every
    TRACK_HOP_S, over the lines with |f| ≥ f_lo (and ≤ 0.45·fs, the front end's band).

    `refine`: periods to a small fraction of a sample (a direct transform on a fine lag
    grid around the peak, the costly part); else to the sample."""
    n = r.shape[1]
    hop, win = round(TRACK_HOP_S * fs), round(TRACK_WINDOW_S * fs)
    nfft = 2 << math.ceil(math.log2(win))
    freqs = np.fft.fftfreq(nfft, 1.0 / fs)
    keep = (np.abs(freqs) >= f_lo) & (np.abs(freqs) <= 0.45 * fs)
    fk = freqs[keep]
    window = signal.windows.hann(win, sym=False)
    lo, hi = max(1, int(LAG_MIN_S * fs)), int(LAG_MAX_S * fs)
    ends, periods, contrasts = [], [], []
    for end in range(win, n + 1, hop):
        spectra = np.fft.fft(r[:, end - win : end] * window, nfft, axis=1)
        power = np.sum(np.abs(spectra) ** 2, axis=0)[keep]
        q = np.log1p(power / (np.median(power) + 1e-30))
        q -= q.mean()
        full = np.zeros(nfft)
        full[keep] = q
        lags = np.abs(np.fft.ifft(full))[lo : hi + 1]
        best = float(lags.max())
        # The first peak within 80 % of the highest: the blade period, not a multiple.
        inner = lags[1:-1]
        peaks = np.flatnonzero((inner >= lags[:-2]) & (inner >= lags[2:]) & (inner >= 0.8 * best))
        i = int(peaks[0]) + 1 if peaks.size else int(np.argmax(lags))
        coarse = (lo + i) / fs
        ends.append(end / fs)
        contrasts.append(best / (float(np.median(lags)) + 1e-30))
        if not refine:
            periods.append(coarse)
            continue
        taus = coarse + np.arange(-FINE_STEPS, FINE_STEPS + 1) / (FINE_STEPS * fs)
        fine = np.abs(np.exp(2j * np.pi * np.outer(taus, fk)) @ q)
        j = int(np.argmax(fine))
        frac = 0.0
        if 0 < j < fine.size - 1:
            y0, y1, y2 = fine[j - 1], fine[j], fine[j + 1]
            den = y0 - 2.0 * y1 + y2
            frac = 0.5 * (y0 - y2) / den if den < 0 else 0.0
        periods.append(taus[j] + frac * (taus[1] - taus[0]))
    return np.array(ends), np.array(periods), np.array(contrasts)


def estimated_lag(
    r: ComplexArray, fs: float, t: FloatArray, carrier_hz: float, c_mps: float = 343.0
) -> tuple[FloatArray, BoolArray]:
    """Per sample: (blade period s, active). Causal: at t, the latest hop ended by t,
    extrapolated along the last two hops' trend (a spin-up shortens the period by up to
    a few % per hop)."""
    _, gate_period, gate_contrast = track(
        r, fs, f_lo=2.0 * LIMB_MPS * carrier_hz / c_mps, refine=False
    )
    ends, period, _ = track(r, fs, refine=bool(np.any(gate_contrast >= MIN_CONTRAST)))
    ok = (gate_contrast >= MIN_CONTRAST) & (np.abs(gate_period - period) <= AGREE * period)
    held = np.array(
        [
            i >= PERSIST_HOPS - 1 and bool(ok[i - PERSIST_HOPS + 1 : i + 1].all())
            for i in range(ok.size)
        ]
    )
    idx = np.searchsorted(ends, t, side="right") - 1
    j = np.clip(idx, 0, period.size - 1)
    prev = np.clip(j - 1, 0, period.size - 1)
    trend = held[j] & held[prev] & (j > 0) & (np.abs(period[j] - period[prev]) < 0.1 * period[j])
    slope = np.where(trend, (period[j] - period[prev]) / TRACK_HOP_S, 0.0)
    centre = ends - TRACK_WINDOW_S / 2.0
    lag = np.clip(period[j] + slope * (t - centre[j]), 0.6 * period[j], 1.4 * period[j])
    active: BoolArray = (idx >= 0) & held[j]
    return np.where(idx >= 0, lag, LAG_MIN_S), active


def cancel(
    x: ComplexArray,
    fs: float,
    t: FloatArray,
    lag: FloatArray,
    active: BoolArray,
    *,
    taps: int = PREDICTOR_TAPS,
    tau_s: float = GAIN_TAU_S,
    carrier_echo: tuple[ComplexArray, ComplexArray] | None = None,
) -> ComplexArray:
    """x (mics, n) with what repeats at lag(t), 2·lag(t), … removed where `active`.

    Per mic, complex gains by exponentially weighted least squares on the samples before
    (strictly causal); the lagged echo read from an UPSAMPLE-times band-limited copy.
    `carrier_echo`: `normalized(x, fs)` when the caller has it already.
    What it does to a walker: a comb filter, notches on the rotor's lines and up to
    +6 dB midway between them; spread over a walker's Doppler, ≈ +3 dB on average.
    """
    c, r = carrier_echo or normalized(x, fs)
    r_up = signal.resample_poly(r, UPSAMPLE, 1, axis=1)
    lagged = []
    for m in range(1, taps + 1):
        tm = t - m * lag
        ok = active & (tm >= t[0])
        pos = (tm - t[0]) * fs * UPSAMPLE
        i0 = np.clip(np.floor(pos).astype(int), 0, r_up.shape[1] - 2)
        f = pos - i0
        lm = r_up[:, i0] * (1 - f) + r_up[:, i0 + 1] * f
        lm[:, ~ok] = 0.0
        lagged.append(lm)
    basis = np.stack(lagged, axis=1)  # (mics, taps, n)
    a = math.exp(-1.0 / (tau_s * fs))
    gram = signal.lfilter(
        [1 - a], [1, -a], np.einsum("mkn,mjn->mkjn", basis, basis.conj()), axis=-1
    )
    cross = signal.lfilter([1 - a], [1, -a], np.einsum("mn,mjn->mjn", r, basis.conj()), axis=-1)
    gram = np.concatenate([np.zeros_like(gram[..., :1]), gram[..., :-1]], axis=-1)
    cross = np.concatenate([np.zeros_like(cross[..., :1]), cross[..., :-1]], axis=-1)
    ridge = 1e-3 * np.trace(gram, axis1=1, axis2=2)[:, None, None, :] / taps + 1e-30
    normal = np.moveaxis(gram + ridge * np.eye(taps)[None, :, :, None], -1, 1)
    gains = np.linalg.solve(np.swapaxes(normal, -1, -2), np.moveaxis(cross, -1, 1)[..., None])[
        ..., 0
    ]
    predicted = np.einsum("mnk,mkn->mn", gains, basis)
    predicted[:, ~active] = 0.0
    out: ComplexArray = c * (1.0 + r - predicted)
    return out
