"""Blade-synchronous cancelling of a running fan's echo: streaming, causal, per mic.

Why: a floor fan's blade tips sweep every walking speed, so a walker beside a running or
oscillating fan is buried in its Doppler; such rooms were 12 of the benchmark's 13
missed walk-ins (docs/bench/HISTORY.md). But a rotor's echo repeats: its N identical
blades are back where they were every blade pass 1/(N·f_rot), so the complex baseband
repeats with that period T, up to a slowly turning phase while the head oscillates. A
walker's echo does not repeat at that lag.

Two parts, as in a speech codec's long-term ("pitch") predictor (Atal & Schroeder,
"Adaptive predictive coding of speech signals", Bell Syst. Tech. J. 49, 1970):

- `BladePeriodTracker`: per hop, the period from the last 0.2 s alone. A periodic
  signal's spectrum is a comb of lines 1/T apart, wherever the oscillating head shifts
  them, so the inverse FFT of the log-compressed power spectrum (a cepstrum: Bogert,
  Healy & Tukey 1963; Noll 1967 for pitch) peaks at T. Trusted only when the same comb
  shows beyond LIMB_MPS — where no torso, curtain or music sideband is — with contrast
  ≥ MIN_CONTRAST and the same period, PERSIST_HOPS hops running.
- `RotorCanceller`: while a period is trusted, predicts each mic's echo from one and two
  periods ago (complex gains by exponentially weighted least squares on past samples
  only) and subtracts the prediction. Elsewhere the baseband passes bit for bit.

Everything is streaming and chunking-invariant: the tracker's frames end on the same
sample grid as the feature frames (every FRAME_HOP_S from WINDOW_S after start-up),
and each sample is cancelled with the latest frame that ended before it.
Researched offline first (research/blade_sync/, docs/bench/HISTORY.md "seventeenth").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import signal

from .features import FRAME_HOP_S, WINDOW_S
from .physics import speed_of_sound

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]
IntArray = npt.NDArray[np.intp]

LAG_MIN_S = 0.005
"""Shortest blade period looked for: 6 blades at 33 rev/s."""
LAG_MAX_S = 0.12
"""Longest: 3 blades at 2.8 rev/s (early in a spin-up)."""
COMB_MIN_HZ = 30.0
"""Lines nearer the carrier are left out of the period estimate: clutter, breathing, a
seated person's minor motion, the oscillating head's own slow Doppler."""
BAND_EDGE = 0.45
"""Highest line used, × the baseband rate: the front end's flat band ends near there."""
LIMB_MPS = 3.0
"""The gate's band starts here: beyond a walker's torso (≤ 1.6 m/s) and music's first
sidebands, inside a fan's blade-tip speeds (6–30 m/s) [physics notes]."""
MIN_CONTRAST = 10.0
"""Gate: the comb's cepstral peak (above its flanks) over the median over all lags,
beyond LIMB_MPS. Training-pool rooms (seeds 500000–500005, not the development suite):
noise, curtains, music median 3.2–3.3, 99th percentile 5.5–10 (one music room 16); a
tracked floor fan 31 (p50); synthetic single lines and frequency-modulated limbs ≤ 12."""
PEAK_GAP_S = 0.002
"""Cepstral peaks are read above their flanks, this far to twice this far away: a fan's
peak in the limb band is up to ≈ 2 ms wide (its lines smeared by the swaying head)."""
PEAK_SHARE = 0.8
"""The period is the first cepstral peak within this share of the highest, not a
multiple of it."""
AGREE = 0.05
"""The gate's period and the full band's agree within this fraction."""
PERSIST_HOPS = 3
QUIET_EVERY = 8
"""While nothing is tracked, every eighth frame (0.4 s) is measured: the tracker, ≈ 0.15
ms a frame, is nearly all the canceller costs in a room without a fan, and measuring
every fourth cost the pipeline 6 % of its speed. A fan's comb lasts as long as it runs,
so skipping frames only delays acquiring it: by up to seven hops (0.35 s), four more
than at every fourth frame (a fan takes seconds to spin up); once a comb is seen it is
followed every frame."""
FINE_STEPS = 16
"""The full band's period is refined to 1/FINE_STEPS of a sample (≈ 16 µs at 4 kHz):
at a 20 ms period one sample of error would leave the fourth comb line 30° off."""
MAX_TREND = 0.1
"""Two hops' periods within this fraction: a spin-up, extrapolated; else held."""
PREDICTOR_TAPS = 2
CARRIER_TAU_S = 0.125
"""The predictor's carrier: a one-pole mean this long (the probe's centred 0.25 s mean,
made causal). Smooth, so nothing step-like is ever subtracted from the output; a fan's
lines 30 Hz out leak into it at -27 dB."""
GAIN_TAU_S = 0.1
"""Memory of the predictor's complex gains: an oscillating head turns the echo's phase by
up to ≈ 20 Hz, so the gains must follow within a tenth of a second."""
RIDGE = 1e-3
FD_TAPS = 16
"""Windowed-sinc fractional delay (Kaiser β = FD_BETA): error ≤ -66 dB up to 0.3 × the
rate (the front end's flat band reaches 0.305 × at a 45 kHz carrier), -33 dB at 0.4 ×,
where the front end's transition band has already attenuated the echo."""
FD_PHASES = 512
FD_BETA = 6.0


@dataclass(frozen=True, slots=True)
class BladePeriod:
    """One tracker frame: whether a rotor comb is trusted, and its blade period (s)."""

    ok: bool
    period_s: float
    contrast: float


def _first_peak(lags: FloatArray) -> int:
    """Index of the first local maximum within PEAK_SHARE of the highest."""
    best = float(lags.max())
    inner = lags[1:-1]
    peaks = np.flatnonzero(
        (inner >= lags[:-2]) & (inner >= lags[2:]) & (inner >= PEAK_SHARE * best)
    )
    return int(peaks[0]) + 1 if peaks.size else int(np.argmax(lags))


def _median(x: FloatArray) -> float:
    """np.median without sorting the whole array (the tracker runs every hop)."""
    n = x.size
    half = n // 2
    part = np.partition(x, [half - 1, half] if n % 2 == 0 else [half])
    return float(part[half] if n % 2 else 0.5 * (part[half - 1] + part[half]))


class BladePeriodTracker:
    """A rotor's blade period from one WINDOW_S frame of baseband, or not trusted."""

    def __init__(self, rate: float, carrier_hz: float, *, temperature_c: float = 20.0) -> None:
        self.rate = float(rate)
        self.hop = round(FRAME_HOP_S * self.rate)
        """Samples between frame ends (the feature frames' hop)."""
        self.window_len = round(WINDOW_S / FRAME_HOP_S) * self.hop
        self._window = signal.windows.hann(self.window_len, sym=False)
        self._carrier_weights = self._window / self._window.sum()
        # Zero-padded to the next power of two: the cepstrum's lags repeat every nfft
        # samples and mirror (|c(-τ)| = |c(τ)|), so a period T also shows at nfft - T:
        # 1,024 at 4 kHz puts that beyond 136 ms, past LAG_MAX.
        self.nfft = 1 << math.ceil(math.log2(self.window_len))
        if self.nfft - LAG_MAX_S * self.rate < 1.1 * LAG_MAX_S * self.rate:
            self.nfft *= 2
        freqs = np.fft.fftfreq(self.nfft, 1.0 / self.rate)
        band = np.abs(freqs) <= BAND_EDGE * self.rate
        gate_hz = 2.0 * LIMB_MPS * carrier_hz / speed_of_sound(temperature_c)
        self._full = np.flatnonzero(band & (np.abs(freqs) >= COMB_MIN_HZ))
        self._gate = np.flatnonzero(band & (np.abs(freqs) >= gate_hz))
        self._gap = max(2, round(PEAK_GAP_S * self.rate))
        self._lo = max(2 * self._gap + 1, int(LAG_MIN_S * self.rate))
        self._hi = int(LAG_MAX_S * self.rate)
        # Flank means from a cumulative sum: lags k-2g..k-g-1 and k+g+1..k+2g.
        k = np.arange(self._lo, self._hi + 1)
        g = self._gap
        self._flanks = ((k - 2 * g - 1, k - g - 1), (k + g, k + 2 * g))
        self._scratch = np.zeros(self.nfft)
        # The fine lag search, exp(2πj·(coarse + δ)·f) = exp(2πj·coarse·f)·exp(2πj·δ·f):
        # the δ part is fixed, so a refinement is one small matrix-vector product.
        steps = np.arange(-FINE_STEPS, FINE_STEPS + 1) / (FINE_STEPS * self.rate)
        self._fine_steps = steps
        self._full_hz = freqs[self._full]
        self._fine_table = np.exp(2j * np.pi * np.outer(steps, self._full_hz))

    def carrier(self, frame: ComplexArray) -> ComplexArray:
        """Each mic's carrier over the frame (mics, window): its Hann-weighted mean."""
        # einsum, not @: BLAS may go multithreaded (see linalg).
        out: ComplexArray = np.einsum("mw,w->m", frame, self._carrier_weights)
        return out

    def measure(self, frame: ComplexArray, carrier: ComplexArray) -> BladePeriod:
        """The blade period seen in `frame` (mics, window), normalised by `carrier`."""
        if np.any(np.abs(carrier) <= 0):
            return BladePeriod(False, 0.0, 0.0)
        # (x/c - 1)·window, each mic normalised by its own carrier.
        echo = frame * (self._window / carrier[:, None]) - self._window
        spectra = np.fft.fft(echo, self.nfft, axis=1)
        power = np.einsum("mk,mk->k", spectra.real, spectra.real)
        power += np.einsum("mk,mk->k", spectra.imag, spectra.imag)
        gate_peaks, gate_floor, _ = self._cepstrum(power, self._gate)
        contrast = float(gate_peaks.max()) / gate_floor
        if contrast < MIN_CONTRAST:
            return BladePeriod(False, 0.0, contrast)
        full_peaks, _, q = self._cepstrum(power, self._full)
        period = self._refine((self._lo + _first_peak(full_peaks)) / self.rate, q)
        # The same comb beyond LIMB_MPS: a peak there within AGREE of the period, as
        # strong as the gate's own period pick would require.
        near = np.abs(self._lo + np.arange(gate_peaks.size) - period * self.rate)
        near_peak = float(gate_peaks[near <= max(1.0, AGREE * period * self.rate)].max())
        return BladePeriod(near_peak >= PEAK_SHARE * float(gate_peaks.max()), period, contrast)

    def _cepstrum(self, power: FloatArray, bins: IntArray) -> tuple[FloatArray, float, FloatArray]:
        """(peaks over LAG_MIN..LAG_MAX, the cepstrum's median there, the centred log
        spectrum over `bins`).

        Peaks: |cepstrum| less the higher of its means over the two flanks (PEAK_GAP_S to
        twice that away on each side). One strong line (a tone, a limb) gives a cepstrum
        falling smoothly from short lags: no peak. A comb gives one at its period.
        """
        p = power[bins]
        q = np.log1p(p * (1.0 / (_median(p) + 1e-30)))
        q -= q.mean()
        full = self._scratch
        full[bins] = q
        # The log spectrum is real, so its inverse FFT is the conjugate of its FFT.
        wide = np.abs(np.fft.rfft(full)[: self._hi + 2 * self._gap + 1])
        full[bins] = 0.0
        sums = np.cumsum(wide)
        left, right = self._flanks
        lags = wide[self._lo : self._hi + 1]
        flank = np.maximum(sums[left[1]] - sums[left[0]], sums[right[1]] - sums[right[0]])
        peaks: FloatArray = lags - flank * (1.0 / self._gap)
        return peaks, _median(lags) + 1e-30, q

    def _refine(self, coarse: float, q: FloatArray) -> float:
        """The period to 1/FINE_STEPS sample: the cepstrum at fine lags, parabolic peak."""
        turned = np.exp(2j * np.pi * coarse * self._full_hz) * q
        fine = np.abs(np.einsum("sf,f->s", self._fine_table, turned))
        j = int(np.argmax(fine))
        frac = 0.0
        if 0 < j < fine.size - 1:
            y0, y1, y2 = fine[j - 1], fine[j], fine[j + 1]
            den = y0 - 2.0 * y1 + y2
            frac = 0.5 * (y0 - y2) / den if den < 0 else 0.0
        step = float(self._fine_steps[1] - self._fine_steps[0])
        return coarse + float(self._fine_steps[j]) + frac * step


def _fractional_delay_table() -> FloatArray:
    """(FD_PHASES, FD_TAPS) Kaiser-windowed sinc rows, each summing to 1.

    Row φ interpolates at n + φ/FD_PHASES from x[n - FD_TAPS/2 + 1 … n + FD_TAPS/2].
    """
    half = FD_TAPS // 2
    mu = np.arange(FD_PHASES) / FD_PHASES
    k = np.arange(FD_TAPS) - (half - 1)
    d = k[None, :] - mu[:, None]
    window = np.i0(FD_BETA * np.sqrt(np.clip(1.0 - (d / half) ** 2, 0.0, 1.0)))
    taps: FloatArray = np.sinc(d) * window
    taps /= taps.sum(axis=1, keepdims=True)
    return taps


class RotorCanceller:
    """Streaming (mics, n) baseband in, the same with a tracked rotor's echo removed."""

    def __init__(
        self,
        rate: float,
        carrier_hz: float,
        channels: int,
        *,
        temperature_c: float = 20.0,
        enabled: bool = True,
    ) -> None:
        self.rate = float(rate)
        self.channels = channels
        self.enabled = enabled
        self.tracker = BladePeriodTracker(rate, carrier_hz, temperature_c=temperature_c)
        self.hop = self.tracker.hop
        self.window_len = self.tracker.window_len
        self._hop_s = self.hop / self.rate
        # Samples kept: a tracker frame, or the longest lagged read (two extrapolated
        # periods plus the interpolator's reach), whichever is longer.
        reach = math.ceil(PREDICTOR_TAPS * 1.4 * LAG_MAX_S * self.rate) + FD_TAPS
        self._keep = max(self.window_len, reach)
        self._history = np.zeros((channels, 0), dtype=np.complex128)
        # The echo the predictor works on: each sample less a smooth carrier (a one-pole
        # mean over CARRIER_TAU_S, started at the first sample), so no step is ever
        # subtracted from the output. It is needed only while a rotor is held, so only
        # the carrier just before the kept history is carried along (cheaply, as samples
        # leave it) and the echo is made from there when needed.
        self._carrier_pole = math.exp(-1.0 / (CARRIER_TAU_S * self.rate))
        self._carrier_before: ComplexArray | None = None
        # Older samples weigh less than 1e-17 in the carrier.
        self._carrier_reach = math.ceil(40.0 * CARRIER_TAU_S * self.rate)
        self._leave_weights: dict[int, FloatArray] = {}
        self._seen = 0  # samples consumed so far (absolute index of the next one)
        self._next_frame_end = self.window_len
        self._ok: list[bool] = []  # the last PERSIST_HOPS frames' verdicts
        self._frames = 0  # frames ended so far
        self._period = 0.0
        self._held = False
        self._slope = 0.0
        self._centre_s = 0.0
        self._decay = math.exp(-1.0 / (GAIN_TAU_S * self.rate))
        # Exponentially weighted sums per mic: basis Gram (taps × taps) and cross terms.
        self._gram = np.zeros((channels, PREDICTOR_TAPS, PREDICTOR_TAPS), dtype=np.complex128)
        self._cross = np.zeros((channels, PREDICTOR_TAPS), dtype=np.complex128)
        self._fd = _fractional_delay_table()
        self.active_samples = 0
        """Samples cancelled so far (diagnostics, benchmarks)."""

    @property
    def active(self) -> bool:
        """Whether a rotor is being cancelled now."""
        return self.enabled and self._held

    @property
    def period_s(self) -> float | None:
        """The tracked blade period, when one is trusted."""
        return self._period if self.active else None

    def process(self, baseband: ComplexArray) -> ComplexArray:
        """Consume baseband (mics, n); return it with a tracked rotor's echo removed."""
        x = np.asarray(baseband, dtype=np.complex128)
        if not self.enabled or x.shape[1] == 0:
            return x
        buf = np.concatenate([self._history, x], axis=1)
        base = self._seen - self._history.shape[1]  # absolute index of buf[:, 0]
        if self._carrier_before is None:
            self._carrier_before = buf[:, 0].copy()  # as if the carrier had always been x[0]
        echo: ComplexArray | None = None  # made when first needed
        out = x  # copied before the first sample is changed
        pos, end = self._seen, self._seen + x.shape[1]
        while pos < end:
            if pos == self._next_frame_end:
                self._track(buf[:, pos - base - self.window_len : pos - base])
                self._next_frame_end += self.hop
            stop = min(end, self._next_frame_end)
            if self._held:
                if out is x:
                    out = x.copy()
                if echo is None:
                    echo = self._echo(buf)
                out[:, pos - self._seen : stop - self._seen] = self._cancel(
                    buf, echo, base, pos, stop
                )
                self.active_samples += stop - pos
            else:
                # No basis: the sums decay as the recursion would with zero input.
                factor = self._decay ** (stop - pos)
                self._gram *= factor
                self._cross *= factor
            pos = stop
        self._seen = end
        leaving = max(0, buf.shape[1] - self._keep)
        self._carrier_before = self._carrier_after(buf[:, :leaving])
        self._history = buf[:, leaving:]
        return out

    def _echo(self, buf: ComplexArray) -> ComplexArray:
        """buf (the kept history and the new block) less its smooth carrier, per mic."""
        a = self._carrier_pole
        assert self._carrier_before is not None
        carrier, _ = signal.lfilter(
            [1.0 - a], [1.0, -a], buf, axis=1, zi=a * self._carrier_before[:, None]
        )
        out: ComplexArray = buf - carrier
        return out

    def _carrier_after(self, leaving: ComplexArray) -> ComplexArray:
        """The one-pole carrier once `leaving` (mics, n), the history's oldest samples,
        has passed: c ← a^n·c + (1 - a)·Σ a^(n-1-j)·x_j, one product per block."""
        assert self._carrier_before is not None
        n = leaving.shape[1]
        if n == 0:
            return self._carrier_before
        a = self._carrier_pole
        tail = leaving[:, -self._carrier_reach :]
        weights = self._leave_weights.get(tail.shape[1])
        if weights is None:
            weights = (1.0 - a) * a ** np.arange(tail.shape[1] - 1, -1, -1, dtype=np.float64)
            if len(self._leave_weights) < 8:  # blocks come in a few lengths
                self._leave_weights[tail.shape[1]] = weights
        out: ComplexArray = a**n * self._carrier_before + np.einsum("mn,n->m", tail, weights)
        return out

    def _track(self, frame: ComplexArray) -> None:
        """Measure the frame that just ended; update what governs the next hop."""
        self._frames += 1
        if not (self._held or (self._ok and self._ok[-1]) or self._frames % QUIET_EVERY == 0):
            # Nothing tracked or seen last frame: a quiet room is looked at every
            # QUIET_EVERY frames (a comb, once seen, is followed every frame).
            self._ok = [*self._ok, False][-PERSIST_HOPS:]
            self._held = False
            return
        carrier = self.tracker.carrier(frame)
        found = self.tracker.measure(frame, carrier)
        self._ok = [*self._ok, found.ok][-PERSIST_HOPS:]
        held = len(self._ok) == PERSIST_HOPS and all(self._ok)
        period = found.period_s
        trend = held and self._held and abs(period - self._period) < MAX_TREND * period
        self._slope = (period - self._period) / self._hop_s if trend else 0.0
        self._held = held
        self._period = period
        # The frame's centre, in seconds from the stream's first sample.
        self._centre_s = (self._next_frame_end - self.window_len / 2.0) / self.rate

    def _lagged(self, buf: ComplexArray, where: FloatArray) -> ComplexArray:
        """buf read at fractional sample positions `where` (n,), per mic."""
        n0 = np.floor(where).astype(np.intp)
        phase = np.minimum(np.rint((where - n0) * FD_PHASES).astype(np.intp), FD_PHASES)
        # Rounding up to the next whole sample moves to the next sample's row 0.
        n0 = n0 + (phase == FD_PHASES)
        phase = np.where(phase == FD_PHASES, 0, phase)
        idx = n0[:, None] + np.arange(FD_TAPS) - (FD_TAPS // 2 - 1)
        out: ComplexArray = np.einsum("mnk,nk->mn", buf[:, idx], self._fd[phase])
        return out

    def _cancel(
        self, buf: ComplexArray, echo: ComplexArray, base: int, start: int, stop: int
    ) -> ComplexArray:
        """Samples start..stop (absolute) with the predicted rotor echo removed: the echo
        (carrier removed) predicted from one and two periods before, taken off the raw."""
        n = stop - start
        i = np.arange(start, stop)
        t = i / self.rate
        p = self._period
        lag = np.clip(p + self._slope * (t - self._centre_s), 0.6 * p, 1.4 * p) * self.rate
        x = buf[:, start - base : stop - base]
        target = echo[:, start - base : stop - base]
        basis = np.zeros((self.channels, PREDICTOR_TAPS, n), dtype=np.complex128)
        for m in range(1, PREDICTOR_TAPS + 1):
            where = i - m * lag
            # Before the stream began there is nothing to read (zero, as at start-up).
            known = where - (FD_TAPS // 2 - 1) >= 0
            rel = np.where(known, where - base, FD_TAPS)
            basis[:, m - 1] = np.where(known, self._lagged(echo, rel), 0.0)
        # Exponentially weighted sums, through each sample; the gains at sample k use
        # the sums through k - 1 only.
        a = self._decay
        outer = np.einsum("mkn,mjn->mkjn", basis, basis.conj())
        cross = np.einsum("mn,mjn->mjn", target, basis.conj())
        gram, _ = signal.lfilter(
            [1.0 - a], [1.0, -a], outer, axis=-1, zi=(a * self._gram)[..., None]
        )
        crs, _ = signal.lfilter(
            [1.0 - a], [1.0, -a], cross, axis=-1, zi=(a * self._cross)[..., None]
        )
        before_g = np.concatenate([self._gram[..., None], gram[..., :-1]], axis=-1)
        before_c = np.concatenate([self._cross[..., None], crs[..., :-1]], axis=-1)
        self._gram, self._cross = gram[..., -1], crs[..., -1]
        ridge = RIDGE * (before_g[:, 0, 0].real + before_g[:, 1, 1].real) / 2 + 1e-30
        # Normal equations Σ_k g_k·Gram[k, j] = cross[j], a 2×2 solve per sample.
        a00 = before_g[:, 0, 0] + ridge
        a11 = before_g[:, 1, 1] + ridge
        a01, a10 = before_g[:, 1, 0], before_g[:, 0, 1]
        det = a00 * a11 - a01 * a10
        g0 = (a11 * before_c[:, 0] - a01 * before_c[:, 1]) / det
        g1 = (a00 * before_c[:, 1] - a10 * before_c[:, 0]) / det
        predicted = g0 * basis[:, 0] + g1 * basis[:, 1]
        result: ComplexArray = x - predicted
        return result
