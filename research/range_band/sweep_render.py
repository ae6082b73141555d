"""The range band sample by sample: a swept emission rendered path by path, then a real
matched filter — to check `range_profiles.py`'s frame-level model where it matters.

Not the engine and not shipped (docs/bench/HISTORY.md, "the range band sample by
sample"). `range_profiles.py` draws each path's image in the range profile from a model
of the matched filter (the LFM's range–Doppler coupling, band overlap and range walk,
fitted to one point target). Here nothing about the matched filter is modelled: every
path of every moving scatterer (direct scatter and the 12 first-order image paths,
mic 0) delays and Doppler-shifts the emitted sweeps sample by sample,
    z(t) = Σ_p g_p(t) · s(t − ℓ_p(t)/c) · exp(−j2π·f_c·ℓ_p(t)/c),
with ℓ_p from the simulator's scatter models (cubic between their blocks), the device's
speaker × mic response applied over the band, the mics' noise added, and each sweep
compressed by correlation with the emitted sweep (Hann-weighted on receive). Static
paths are left out, as in the tables they are checked against: the sweep comes from a
speaker that plays nothing else (the second speaker of HISTORY's "a gated tone"), so
they are the same every sweep and the two-pulse canceller removes them exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from range_profiles import CELL_M, sweep_band
from scipy.interpolate import CubicSpline
from scipy.signal import fftconvolve

from uspd.dsp.physics import speed_of_sound
from uspd.sim.acoustics import absorption_db_per_m, first_order_images
from uspd.sim.render import _MIC_PATHS, _SPK_PATHS, Renderer
from uspd.sim.scenario import Scenario

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]

RATE = 24000.0
"""Complex baseband rate around the band's centre: the 8 kHz band, a blade's Doppler
(±2.6 kHz at 30 m/s) and the compressed pulse's skirts, unaliased."""
RAMP_S = 0.001
"""Raised-cosine ramps at each end of a sweep (a hard edge splatters)."""
CHUNK_S = 1.0


@dataclass(frozen=True)
class Sweeps:
    """Up-sweeps over centre ± bandwidth/2, `(length_s, offset_s)` each, every `period_s`,
    with raised-cosine ramps of `ramp_s` at each end (0: none, for sweeps back to back,
    which are phase-continuous)."""

    sweeps: tuple[tuple[float, float], ...]
    period_s: float = 0.04
    bandwidth_hz: float = 8000.0
    ramp_s: float = RAMP_S

    def envelope(self, t: FloatArray) -> ComplexArray:
        """The emission's complex envelope (re the band's centre) at times t."""
        out = np.zeros(t.shape, np.complex128)
        u_all = np.mod(t, self.period_s)
        for length, offset in self.sweeps:
            u = u_all - offset
            on = (u >= 0) & (u < length)
            if self.ramp_s > 0:
                edge = np.clip(np.minimum(u, length - u) / self.ramp_s, 0.0, 1.0)
                gain = 0.5 - 0.5 * np.cos(np.pi * edge)
            else:
                gain = np.ones(t.shape)
            chirp = np.exp(1j * np.pi * self.bandwidth_hz / length * (u - length / 2) ** 2)
            out += np.where(on, gain * chirp, 0.0)
        return out


def render_band(
    scenario: Scenario,
    sweeps: Sweeps,
    *,
    share_db: float = -3.0,
    seed: int = 0,
    span: tuple[float, float] | None = None,
    noise: bool = True,
) -> tuple[ComplexArray, float, float]:
    """(complex baseband of mic 0 at RATE, band centre Hz, noise variance per sample).

    `span`: (from, to) s of the scene to render (default: all of it); `from` a whole
    number of periods, so sweep k of the scene starts where it would. `noise`: add the
    mics' noise (without: the echoes alone, to add to audio that has it). The band is where
    `range_profiles.sweep_band` puts it; its drive `share_db` against
    the tone's calibrated level, as there. Units: a drive of amplitude A is a complex
    envelope A; the mics' noise (one-sided density D per Hz) is complex Gaussian of
    variance 2·D·RATE per sample.
    """
    r = Renderer(scenario)
    c = r.c
    centre, _ = sweep_band(scenario, r, sweeps.bandwidth_hz)
    att = float(
        absorption_db_per_m(centre, scenario.room.temperature_c, scenario.room.humidity_pct)
    )
    a_np = att * math.log(10) / 20
    amplitude = 10 ** ((scenario.level_dbfs + share_db) / 20)
    refl = np.asarray(scenario.room.reflection, dtype=np.float64)
    images, _ = first_order_images(r.device.speaker[None], scenario.room.size_m, refl)
    speaker = np.concatenate([r.device.speaker[None], images[:, 0]])[_SPK_PATHS]  # (13, 3)
    mic = r.mic_points[:, 0, :][_MIC_PATHS]  # (13, 3)
    beta = (r._beta7[_SPK_PATHS] * r._beta7[_MIC_PATHS])[:, None]
    t0, t1 = span or (0.0, scenario.duration_s)
    if not math.isclose(t0 / sweeps.period_s, round(t0 / sweeps.period_s)):
        raise ValueError(f"the span must start on a period, not at {t0} s")
    n = int((t1 - t0) * RATE)
    z = np.zeros(n, np.complex128)
    k0 = 2 * np.pi * centre / c
    for model in r.scatter:
        dt = model.decimation / r.fs_int
        tb = np.asarray(t0 + np.arange(-2, int((t1 - t0) / dt) + 4) * dt, np.float64)
        pos, amp = model.scatterers(r.scene_time(tb))  # (S, B, 3), (S, B)
        for s in range(pos.shape[0]):
            if not np.any(amp[s] > 0):
                continue
            p = pos[s]  # (B, 3)
            rs = np.linalg.norm(p[None, :, :] - speaker[:, None, :], axis=-1)  # (13, B)
            rm = np.linalg.norm(p[None, :, :] - mic[:, None, :], axis=-1)
            length = CubicSpline(tb, (rs + rm).T)  # path length, m
            gain = r.echo_ref * beta * np.exp(-a_np * (rs + rm)) / (rs * rm) * amp[s][None, :]
            for lo in range(0, n, int(CHUNK_S * RATE)):
                t = t0 + np.arange(lo, min(n, lo + int(CHUNK_S * RATE))) / RATE
                ell = length(t).T  # (13, m)
                g = np.stack([np.interp(t, tb, row) for row in gain])
                echo = g * sweeps.envelope(t[None, :] - ell / c) * np.exp(-1j * k0 * ell)
                z[lo : lo + t.size] += echo.sum(axis=0)
    # The speaker × mic response over the band, applied as a filter on the whole scene.
    f = np.asarray(np.fft.fftfreq(n, 1 / RATE), np.float64)
    z = np.fft.ifft(np.fft.fft(z * amplitude) * r.device.response(centre + f)[0])
    density = 10 ** ((scenario.device.mic_noise_dbfs_hz or -135.0) / 10)
    variance = 2 * density * RATE
    if noise:
        rng = np.random.default_rng([seed, 0x5EE9])
        z = z + math.sqrt(variance / 2) * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
    return np.asarray(z), centre, variance


def profiles(
    z: ComplexArray,
    sweeps: Sweeps,
    which: int,
    variance: float,
    *,
    c: float,
    t0: float = 0.0,
) -> tuple[FloatArray, ComplexArray]:
    """(sweep start times, (sweeps, cells) range profiles) of sweep `which` of each period:
    correlation with the emitted sweep (Hann-weighted), read at delays 0 … one period,
    on CELL_M cells of path, in units of the output's noise (unit variance); `z` starts
    at `t0` s of the scene."""
    length, offset = sweeps.sweeps[which]
    m = round(length * RATE)
    u = np.arange(m) / RATE
    one = Sweeps(((length, 0.0),), 1e9, sweeps.bandwidth_hz, sweeps.ramp_s)  # as emitted
    reference = one.envelope(u) * np.hanning(m)
    compressed = fftconvolve(z, np.conj(reference[::-1]), mode="full")[m - 1 :]
    compressed /= math.sqrt(variance * float(np.sum(np.abs(reference) ** 2)))
    span = c * sweeps.period_s
    cells = np.arange(int(span / CELL_M)) * CELL_M
    lag = cells / c * RATE  # fractional samples
    starts = np.arange(offset, z.size / RATE - sweeps.period_s - length, sweeps.period_s)
    out = np.empty((starts.size, cells.size), np.complex128)
    for k, start in enumerate(starts):
        at = round(start * RATE) + lag
        i = np.floor(at).astype(int)
        frac = at - i
        out[k] = compressed[i] * (1 - frac) + compressed[i + 1] * frac
    return np.asarray(t0 + starts, np.float64), out


JOINT = "lfm_10ms_and_5ms_every_40ms"
"""The waveform checked: the two sweep lengths of `measure.JOINT`, scored jointly."""


def check_row(
    row: dict[str, object], cache_dir: str | None, *, whole: bool = False, audio: bool = False
) -> dict[str, object]:
    """A room of `measure.py`'s JSON scored again sample by sample (JOINT, `span` around
    what the table reads: a walk-in's first 4 s within 4 m, an empty room's best frame,
    or with `whole` all of an empty room); with `audio`, from the scene's audio with the
    band's echoes in it (`range_frontend`)."""
    from measure import JOINT as WAVEFORMS
    from measure import dev_room
    from translation import FRAME_S, joint_translation_score, motion_map

    from uspd.bench import _calibrated
    from uspd.benchcache import SceneCache

    kind, seed = str(row["kind"]), int(str(row["seed"]))
    scenario = _calibrated(dev_room(kind, seed), SceneCache(cache_dir) if cache_dir else None)
    sweeps = Sweeps(tuple((length, offset) for _, length, _, offset in WAVEFORMS[JOINT]))
    frame_level = np.asarray(row[JOINT]["full"])  # type: ignore[index]
    ends = (np.arange(frame_level.size) + 1) * FRAME_S
    enter = row.get("enter_s")
    if isinstance(enter, float):
        window = (ends >= enter) & (ends <= enter + 4.0)
        focus_from, focus_to = enter, enter + 4.0
    elif whole:
        window = np.ones(ends.size, bool)
        focus_from, focus_to = 0.0, scenario.duration_s
    else:
        best = float(ends[int(np.argmax(frame_level))])
        window = np.abs(ends - best) < 1e-6
        focus_from, focus_to = best - 0.2, best + 0.2
    t0 = max(0.0, math.floor((focus_from - 2.4) / sweeps.period_s) * sweeps.period_s)
    t1 = min(scenario.duration_s, focus_to + 0.4)
    if audio:
        from range_frontend import range_maps, scene_audio

        sound, centre, variance = scene_audio(scenario, sweeps, (t0, t1))
        maps, _ = range_maps(sound, scenario, sweeps, centre=centre, variance=variance, t0=t0)
    else:
        z, _, variance = render_band(scenario, sweeps, seed=seed, span=(t0, t1))
        c = speed_of_sound(scenario.room.temperature_c)
        maps = [motion_map(profiles(z, sweeps, j, variance, c=c, t0=t0)[1]) for j in (0, 1)]
    score = joint_translation_score(maps, wrap=True)
    sample_ends = t0 + (np.arange(score.size) + 1) * FRAME_S
    inside = (sample_ends >= focus_from - 1e-6) & (sample_ends <= focus_to + 1e-6)
    return {
        "seed": seed,
        "kind": kind,
        "frame_level": float(frame_level[window].max()) if window.any() else -99.0,
        "sample_level": float(score[inside].max()) if inside.any() else -99.0,
    }


def main() -> None:
    """Rows of measure.py's JSON (with JOINT) scored again sample by sample, as JSON."""
    import argparse
    import json
    from pathlib import Path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cache", help="uspd bench's calibration cache directory")
    parser.add_argument("--top", type=int, help="only the rooms the frame-level scores highest")
    parser.add_argument("--whole", action="store_true", help="all of each empty room")
    parser.add_argument("--audio", action="store_true", help="from the scene's 96 kHz audio")
    args = parser.parse_args()
    rows = [r for p in args.rows for r in json.loads(p.read_text())]
    if args.top:
        rows.sort(key=lambda r: -max(r[JOINT]["full"]))
        rows = rows[: args.top]
    out = []
    for row in rows:
        out.append(check_row(row, args.cache, whole=args.whole, audio=args.audio))
        print(json.dumps(out[-1]), flush=True)
    args.out.write_text(json.dumps(out))


if __name__ == "__main__":
    main()
