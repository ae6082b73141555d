"""Multi-mic music-distortion canceller: a spatial null toward the device's own speaker.

Bass playback makes the loudspeaker amplitude- and phase-modulate the ultrasonic
carrier [Purifi force-factor AM; Moir 1976 / Lebrun & Hélie 2020 Doppler FM]; the
sidebands (≈ -10 dBc at 1 mm excursion, 30–300 Hz off the carrier) land in the walking
Doppler band. They leave the speaker, so they reach every mic through the carrier's
own paths, while body echoes arrive from the person's direction. Amazon removes them
with "the different magnitude and phase of distortion and motion features at different
microphones" [Echo article; US11564036]. Here:

* spectra arrive already divided, per mic, by that mic's complex carrier amplitude, so
  speaker-borne components at f ≈ 0 have the steering vector d ≈ (1, …, 1)/√M;
* room multipath (a wall 30 cm behind the device is only ≈10 dB below the direct
  coupling) makes the speaker→mic ratios vary across the Doppler band, so d is tracked
  per FFT bin from cross-spectra of frames where music is detected, blended with a
  smooth per-mic gain/phase/delay model for bins music never reached;
* learning is guarded like an echo canceller's double-talk detector: not while the
  leakage ratio jumps (a person moving in the music), and per bin only where the bin
  already looks speaker-borne — so the null never turns toward the person;
* each bin X is projected onto the orthogonal complement of d (with ≥ 4 mics also of a
  second music direction, see SECOND_NULL_MIN_MICS): with r nulls the residual keeps
  (M-r)/M of spatially white noise and, on average, of motion, so it is rescaled by
  M/(M-r) to keep levels comparable with a single mic.

With one mic there is no spatial null: spectra pass through, and music is recognised
by phase-locked mirrored sidebands (AM/FM of the carrier by the same bass gives
A(f)·A(-f) a fixed phase through a static room; motion and noise do not), which sets
`sensitivity_reduced`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import signal

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]
BoolArray = npt.NDArray[np.bool_]

# Speaker-coherent power this far above what uncorrelated noise gives → music.
MUSIC_COHERENCE_DB = 9.0
# One mic: bass modulation puts phase-locked sidebands at ±f (A(f)·A(-f) keeps a fixed
# phase through a static room), motion and noise do not. Averaged over
# MIRROR_MEMORY_FRAMES, |E[A(f)A(-f)]| / E[|A(f)A(-f)|] above this → music.
MIRROR_COHERENCE = 0.75
MIRROR_MEMORY_FRAMES = 20.0
BASS_HZ = (25.0, 320.0)
# Steering refit period in frames, on a global schedule (chunking-invariant).
REFIT_FRAMES = 10
# Memory of the steering statistics, in refit periods (10 s: covers many bass notes).
STEERING_MEMORY = 20.0
# Per-bin estimates are blended with the smooth gain/phase/delay model; the model's
# weight is this fraction of the median music power per bin (bins music never reached).
PRIOR_FRACTION = 0.05
# "Double talk" guard, as in echo cancellers: learn only while the leakage ratio
# (residual / speaker-borne power) stays within this of its running minimum — a person
# moving in the music raises the residual and freezes the steering, so it never
# learns to null the person. The minimum creeps up so the guard cannot lock forever.
DOUBLE_TALK_DB = 8.0
# Per bin, a frame teaches the steering only if the bin's power is this coherent with
# it (|dᴴx|² / ‖x‖²; a random direction gives 1/M on average).
COHERENCE_GATE = 0.7
LEAK_FLOOR_RISE_DB_PER_FRAME = 0.1
# With ≥ 4 mics a second null per bin: a sideband whose envelope changes within a frame
# (a kick drum) reaches the mics through reflections 5–30 ms late, so it is not one
# narrowband direction. The second direction is used where its music power exceeds
# SECOND_NULL_MARGIN times that of each remaining direction (noise).
SECOND_NULL_MIN_MICS = 4
SECOND_NULL_MARGIN = 4.0
# Largest plausible inter-mic direct-path delay difference (≈ 10 cm / c).
MAX_DELAY_S = 3e-4
_TINY = 1e-30
_MUSIC_RATIO = 10.0 ** (MUSIC_COHERENCE_DB / 10.0)
_LEAK_RISE = 10.0 ** (LEAK_FLOOR_RISE_DB_PER_FRAME / 10.0)
_DOUBLE_TALK_RATIO = 10.0 ** (DOUBLE_TALK_DB / 10.0)


@dataclass(frozen=True)
class CancellerOutput:
    """Per-frame canceller results; PSDs are per Hz, relative to the carrier power."""

    residual_psd: FloatArray  # (frames, bins): motion + noise, mic average, rescaled
    removed_psd: FloatArray  # (frames, bins): speaker-coherent part taken out
    music: BoolArray  # (frames,): music distortion detected
    sensitivity_reduced: BoolArray  # (frames,): music present but could not be removed
    music_level_db: FloatArray  # (frames,): removed Doppler-band power, dBc
    residual_level_db: FloatArray  # (frames,): residual Doppler-band power, dBc


class DistortionCanceller:
    """Streaming per-frame spatial projection; state = the fitted speaker steering model."""

    def __init__(
        self,
        channels: int,
        freqs_hz: FloatArray,
        bin_hz: float,
        *,
        enabled: bool = True,
    ) -> None:
        self.channels = channels
        self.enabled = enabled and channels > 1
        self._freqs = np.asarray(freqs_hz, dtype=np.float64)
        self._bin_hz = bin_hz
        # Mirror index: the bin nearest -f for each bin at f.
        n = self._freqs.size
        self._mirror = np.argmin(np.abs(self._freqs[None, :] + self._freqs[:, None]), axis=1)
        self.gain = np.ones(channels)
        self.phase = np.zeros(channels)
        self.delay_s = np.zeros(channels)
        self._cross = np.zeros((channels, n), dtype=np.complex128)
        self._beam_power = np.zeros(n)
        self._frame_index = 0
        self._leak_floor = np.inf
        # Bass (30–300 Hz [physics notes, Music]) sidebands; the clutter gap stays out.
        bass = np.flatnonzero(
            (np.abs(self._freqs) >= BASS_HZ[0]) & (np.abs(self._freqs) <= BASS_HZ[1])
        )
        self._bass_bins = bass
        self._bass_mirror = self._mirror[bass]
        nb = bass.size
        pole = float(np.exp(-1.0 / MIRROR_MEMORY_FRAMES))
        self._mirror_b = np.array([1.0 - pole])
        self._mirror_a = np.array([1.0, -pole])
        self._mirror_zi = np.zeros((1, 2 * nb), dtype=np.complex128)
        self._mirror_frames = 0
        self._cov = np.zeros((n, channels, channels), dtype=np.complex128)
        seed = np.exp(2j * np.pi * np.arange(channels) * 0.37) * (-1.0) ** np.arange(channels)
        self._second = np.repeat(seed[:, None], n, axis=1) / np.sqrt(channels)
        self._second_on = np.zeros(n, dtype=np.bool_)
        self._set_second(self._second, self._second_on)
        self._set_steering(self._build_steering())

    def _set_steering(self, steering: ComplexArray) -> None:
        """New steering, with what every frame derives from it precomputed."""
        self._steering = steering
        self._steering_conj = steering.conj()

    def _set_second(self, second: ComplexArray, second_on: BoolArray) -> None:
        """New second null direction and where it is used, with per-frame constants."""
        self._second = second
        self._second_on = second_on
        self._second_conj = second.conj()
        self._second_any = bool(np.any(second_on))
        # Residual rescaling M / (M - nulls) per bin (second nulls need ≥ 4 mics, so the
        # floor only keeps unused values finite for one mic).
        self._second_rescale = self.channels / np.maximum(self.channels - 1.0 - second_on, 1.0)

    def _build_steering(self) -> ComplexArray:
        """Unit-norm steering per bin (mics, bins): per-bin estimate blended with the model."""
        d = (self.gain * np.exp(1j * self.phase))[:, None] * np.exp(
            -2j * np.pi * self.delay_s[:, None] * self._freqs[None, :]
        )
        d /= np.sqrt(np.sum(np.abs(d) ** 2, axis=0, keepdims=True))
        if np.any(self._beam_power > _TINY):
            # Room multipath makes the speaker→mic ratios vary across the Doppler band,
            # so each bin keeps its own estimate where music reached it.
            weight = PRIOR_FRACTION * float(np.median(self._beam_power)) + _TINY
            align = np.sum(d.conj() * self._cross, axis=0)
            d = self._cross + weight * d * np.exp(1j * np.angle(align))[None, :]
        norm = np.sqrt(np.sum(np.abs(d) ** 2, axis=0, keepdims=True))
        steering: ComplexArray = d / np.maximum(norm, _TINY)
        return steering

    def process(
        self,
        spectra: ComplexArray,
        learn: BoolArray | None = None,
        *,
        powers: FloatArray | None = None,
    ) -> CancellerOutput:
        """Cancel distortion in normalised spectra (frames, mics, bins), PSD-scaled.

        `learn` (frames,) marks frames the steering model may adapt to (default: all).
        `powers`: |spectra|² if the caller has it already (the features do).
        """
        frames = spectra.shape[0]
        if learn is None:
            learn = np.ones(frames, dtype=np.bool_)
        if powers is None:
            powers = power(spectra)
        parts: list[tuple[FloatArray, FloatArray, BoolArray]] = []
        start = 0
        while start < frames:
            # Split where the global frame index crosses a refit boundary.
            room = REFIT_FRAMES - self._frame_index % REFIT_FRAMES
            stop = min(frames, start + room)
            parts.append(
                self._process_segment(spectra[start:stop], powers[start:stop], learn[start:stop])
            )
            self._frame_index += stop - start
            if self._frame_index % REFIT_FRAMES == 0 and self.enabled:
                self._refit()
            start = stop
        if len(parts) == 1:
            residual, removed, music = parts[0]
        elif parts:
            residual = np.concatenate([p[0] for p in parts])
            removed = np.concatenate([p[1] for p in parts])
            music = np.concatenate([p[2] for p in parts])
        else:
            residual = np.zeros((0, self._freqs.size))
            removed = np.zeros((0, self._freqs.size))
            music = np.zeros(0, dtype=np.bool_)
        band_power = self._bin_hz * np.add.reduce(residual, axis=1)
        removed_power = self._bin_hz * np.add.reduce(removed, axis=1)
        return CancellerOutput(
            residual_psd=residual,
            removed_psd=removed,
            music=music,
            sensitivity_reduced=music & (not self.enabled),
            music_level_db=10.0 * np.log10(removed_power + _TINY),
            residual_level_db=10.0 * np.log10(band_power + _TINY),
        )

    def _process_segment(
        self, x: ComplexArray, powers: FloatArray, learn: BoolArray
    ) -> tuple[FloatArray, FloatArray, BoolArray]:
        """Project one segment with the current steering (vectorised over frames).

        Reductions are the ufuncs' own (np.add.reduce for np.sum / np.mean): the same
        arithmetic without the wrappers' per-call cost, which dominates at one frame.
        """
        m = self.channels
        total = _mic_sum(powers) / m  # per-mic average PSD (frames, bins)
        if not self.enabled:
            return total, np.zeros_like(total), self._mono_music(x[:, 0], learn)
        beam = np.einsum("mk,fmk->fk", self._steering_conj, x)  # d^H X
        beam_power = power(beam)
        first = beam_power / m  # per-mic power of the speaker-borne part
        rest = np.maximum(total - first, 0.0) * (m / (m - 1))
        coherent = np.add.reduce(first, axis=1)
        other = np.add.reduce(rest, axis=1) / m  # what noise alone would put in `first`
        music = coherent > other * _MUSIC_RATIO
        if self._second_any:
            second = power(np.einsum("mk,fmk->fk", self._second_conj, x)) / m
            speaker = first + np.where(self._second_on, second, 0.0)
            residual = np.maximum(total - speaker, 0.0) * self._second_rescale
        else:
            speaker, residual = first, rest
        useful = self._quiet(np.add.reduce(residual, axis=1) / (coherent + _TINY), music & learn)
        if useful.any():
            # Per bin, learn only from frames where that bin already looks speaker-borne.
            beam_power = beam_power[useful]
            coherent_bin = beam_power > COHERENCE_GATE * m * total[useful]
            gated = np.where(coherent_bin, beam[useful].conj(), 0.0)
            self._cross += np.einsum("fmk,fk->mk", x[useful], gated)
            self._beam_power += np.sum(np.where(coherent_bin, beam_power, 0.0), axis=0)
            if m >= SECOND_NULL_MIN_MICS:
                xg = np.where(coherent_bin[:, None, :], x[useful], 0.0)
                self._cov += np.einsum("fmk,fnk->kmn", xg, xg.conj())
        return residual, speaker, music

    def _quiet(self, leak: FloatArray, candidates: BoolArray) -> BoolArray:
        """Double-talk guard: candidate frames whose leakage ratio is near its running minimum."""
        ok = np.zeros(leak.size, dtype=np.bool_)
        if not candidates.any():
            return ok
        values = leak.tolist()
        for i in np.flatnonzero(candidates).tolist():
            value = values[i]
            self._leak_floor = min(value, self._leak_floor * _LEAK_RISE)
            ok[i] = value <= self._leak_floor * _DOUBLE_TALK_RATIO
        return ok

    def _mono_music(self, x: ComplexArray, valid: BoolArray) -> BoolArray:
        """One mic: phase-locked mirrored sidebands (AM/FM of the carrier) → music.

        Only `valid` frames enter the running averages (start-up junk would dominate).
        """
        music = np.zeros(x.shape[0], dtype=np.bool_)
        if not np.any(valid):
            return music
        product = x[valid][:, self._bass_bins] * x[valid][:, self._bass_mirror]
        stacked = np.concatenate([product, np.abs(product)], axis=1)
        smoothed, self._mirror_zi = signal.lfilter(
            self._mirror_b, self._mirror_a, stacked, axis=0, zi=self._mirror_zi
        )
        n = product.shape[1]
        locked = np.sum(np.abs(smoothed[:, :n]), axis=1)
        total = np.sum(smoothed[:, n:].real, axis=1) + _TINY
        # A short average looks coherent by chance: decide only after a full memory.
        seen = self._mirror_frames + np.arange(1, locked.size + 1)
        self._mirror_frames += locked.size
        music[valid] = (locked > MIRROR_COHERENCE * total) & (seen >= MIRROR_MEMORY_FRAMES)
        return music

    def _refit(self) -> None:
        """Fit gain, phase and delay per mic (relative to mic 0) to music cross-spectra."""
        weight = self._beam_power
        used = weight > _TINY
        if not np.any(used):
            return
        # E[X_m b*] / E[|b|²] ∝ the true speaker steering vector, whatever d was used.
        ratio = self._cross[:, used] / weight[used][None, :]
        relative = ratio * np.conj(ratio[0])[None, :]
        f = self._freqs[used]
        w = weight[used]
        self.gain[0], self.phase[0], self.delay_s[0] = 1.0, 0.0, 0.0  # the reference
        for mic in range(1, self.channels):
            phase, slope = _weighted_line(f, np.angle(relative[mic]), w)
            self.phase[mic] = phase
            self.delay_s[mic] = float(np.clip(-slope / (2.0 * np.pi), -MAX_DELAY_S, MAX_DELAY_S))
            log_ratio = np.log(np.abs(ratio[mic]) + _TINY) - np.log(np.abs(ratio[0]) + _TINY)
            self.gain[mic] = float(np.exp(np.sum(w * log_ratio) / np.sum(w)))
        # The common gain, phase and delay are irrelevant to the projection: pin them.
        self.gain /= np.exp(np.mean(np.log(self.gain)))
        self.phase -= np.mean(self.phase)
        self.delay_s -= np.mean(self.delay_s)
        self._set_steering(self._build_steering())
        if self.channels >= SECOND_NULL_MIN_MICS:
            self._update_second()
        decay = np.exp(-1.0 / STEERING_MEMORY)
        self._cross *= decay
        self._beam_power *= decay
        self._cov *= decay

    def _update_second(self) -> None:
        """One power iteration for the strongest music direction orthogonal to the first."""
        d = self._steering.T  # (bins, mics)
        v = self._second.T
        v = v - d * np.sum(d.conj() * v, axis=1, keepdims=True)
        v = np.einsum("kmn,kn->km", self._cov, v)
        v = v - d * np.sum(d.conj() * v, axis=1, keepdims=True)
        v /= np.maximum(np.sqrt(np.sum(np.abs(v) ** 2, axis=1, keepdims=True)), _TINY)
        first = np.einsum("km,kmn,kn->k", d.conj(), self._cov, d).real
        second = np.einsum("km,kmn,kn->k", v.conj(), self._cov, v).real
        # On where that direction holds music, i.e. clearly more than the remaining ones.
        trace = np.einsum("kmm->k", self._cov).real
        others = (trace - first - second) / (self.channels - 2)
        self._set_second(np.ascontiguousarray(v.T), second > SECOND_NULL_MARGIN * others + _TINY)


def _mic_sum(powers: FloatArray) -> FloatArray:
    """np.add.reduce(powers, axis=1), bit for bit, layout included.

    Below 8 terms numpy sums in order; spelled out as whole-plane adds it skips the
    reduction's per-bin inner loops (spectra come bins-outermost, mics innermost).
    """
    mics = powers.shape[1]
    if not 2 <= mics < 8:
        total: FloatArray = np.add.reduce(powers, axis=1)
        return total
    total = powers[:, 0] + powers[:, 1]
    for mic in range(2, mics):
        total += powers[:, mic]
    return total


def power(z: ComplexArray) -> FloatArray:
    """|z|² without the square root np.abs would take."""
    result: FloatArray = z.real * z.real + z.imag * z.imag
    return result


def _weighted_line(x: FloatArray, y: FloatArray, w: FloatArray) -> tuple[float, float]:
    """Weighted least-squares y ≈ a + b·x in closed form.

    Not np.linalg.lstsq: LAPACK wakes OpenBLAS worker threads, which then spin and
    halve the speed of the whole chain on a 2-core machine.
    """
    sw = float(np.sum(w))
    mx = float(np.sum(w * x)) / sw
    my = float(np.sum(w * y)) / sw
    sxx = float(np.sum(w * (x - mx) ** 2))
    b = float(np.sum(w * (x - mx) * (y - my))) / sxx if sxx > 0 else 0.0
    return my - b * mx, b
