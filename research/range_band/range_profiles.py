"""Range profiles of a simulated scene as a swept (LFM) band beside the tone would see them.

Not the engine and not shipped: a feasibility model for a second emission band, built on
the simulator's own scatter models, device response and room (docs/bench/HISTORY.md,
"a range band beside the tone"). Per sweep k (period T, band B centred on fc), every
path of every moving scatterer (direct scatter and the 12 first-order image paths, mic 0)
adds g·exp(-j2π·fc·ℓ/c) at the apparent path length ℓ' = ℓ + coupling·(fc·T/B)·dℓ/dt:
an LFM's matched filter reads a Doppler shift f_D as a delay f_D/slope (the range-Doppler
coupling, Skolnik, "Radar Handbook", 3rd ed., ch. 8), with the overlap loss
max(0, 1 - |f_D|/B), shaped by the Hann-weighted compressed pulse. `coupling=0` is the
ideal of a coupling-free ranging (an upper bound), 1 a plain LFM.

Static paths (the direct speaker-to-mic path, the room's echoes) are drawn only when
asked: they cancel sweep to sweep unless airflow or music moves them. Units are
matched-filter SNR: signal × A·|H(fc)|·sqrt(T/N0) (A: the emission's amplitude, N0: the
mics' noise density) against unit complex noise per cell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from uspd.sim.acoustics import absorption_db_per_m, image_sources
from uspd.sim.air import HvacModel
from uspd.sim.music import MusicModel
from uspd.sim.render import _MIC_PATHS, _SPK_PATHS, Renderer
from uspd.sim.scenario import Scenario

ComplexArray = npt.NDArray[np.complex128]
FloatArray = npt.NDArray[np.float64]

CELL_M = 0.02
"""Path-length cell of the profiles (the compressed pulse of 8 kHz is c/B ≈ 4.3 cm)."""
MAX_PATH_M = 16.0
RANGE_WALK = 1.6
"""A moving path's image spreads over RANGE_WALK·|rate|·T of path: the path's own change
during the sweep (|rate|·T) and the coupling's drift as the sweep's frequency moves (up
to as much again), less where the band overlap trims the echo; fitted to a sample-level
matched filter (tests/research/test_range_band.py)."""
SPREAD_CELLS = 4
"""Spacing of the equal-energy sub-images that spread it: about the compressed pulse's
width, so they barely overlap."""
GUARD_HZ = 1600.0
"""Kept clear either side of the tone: its analysis band (uspd.dsp.features, ±1.5 kHz)."""
LOWEST_HZ = 24000.0
"""Lowest sweep frequency: keep the band clear of the audible range with margin."""
HIGHEST_HZ = 43500.0
"""Highest sweep frequency at 96 kHz: below the simulated ADC's anti-alias edge."""


@dataclass(frozen=True)
class RangeFrames:
    """Complex range profiles per sweep, one array per scatter model of the scene."""

    t: FloatArray  # (K,) sweep centres, s
    profiles: dict[str, ComplexArray]  # model name → (K, cells)
    fc_hz: float
    response: float  # |H(fc)| of speaker × mic 0
    absorption_db_per_m: float


def lfm_shift(rate: FloatArray, fc_hz: float, bandwidth_hz: float, sweep_s: float) -> FloatArray:
    """How much further (m of path) an up-sweep's matched filter puts a path whose length
    changes at `rate` m/s: its Doppler f_D = -rate·fc/c reads as a delay -f_D/slope."""
    return np.asarray(rate * fc_hz * sweep_s / bandwidth_hz)


def lfm_overlap(rate: FloatArray, fc_hz: float, bandwidth_hz: float, c: float) -> FloatArray:
    """The matched filter's peak left to a Doppler-shifted sweep: the shifted band overlaps
    the emitted one by 1 - |f_D|/B."""
    return np.asarray(np.clip(1 - np.abs(rate * fc_hz / c) / bandwidth_hz, 0.0, 1.0))


def _kernel(bandwidth_hz: float, c: float, half_cells: int = 12) -> ComplexArray:
    """The compressed Hann-weighted pulse, sampled every 1/8 cell."""
    f = np.linspace(-bandwidth_hz / 2, bandwidth_hz / 2, 257)
    x = np.arange(-half_cells * 8, half_cells * 8 + 1) * CELL_M / 8
    k = (np.hanning(257)[None, :] * np.exp(2j * np.pi * f[None, :] * x[:, None] / c)).sum(1)
    return np.asarray(k / np.abs(k).max())


def candidate_bands(tone_hz: float, bandwidth_hz: float) -> list[float]:
    """Centres of the bands a sweep may use beside a tone at `tone_hz`: a 250 Hz grid from
    LOWEST_HZ to HIGHEST_HZ, GUARD_HZ clear of the tone."""
    return [
        float(lo + bandwidth_hz / 2)
        for lo in np.arange(LOWEST_HZ, HIGHEST_HZ - bandwidth_hz + 1, 250.0)
        if not lo - GUARD_HZ < tone_hz < lo + bandwidth_hz + GUARD_HZ
    ]


def weakest_response(renderer: Renderer, centre_hz: float, bandwidth_hz: float) -> float:
    """|H| (speaker × mic 0) at its weakest over a band (nine points across it)."""
    f = np.linspace(centre_hz - bandwidth_hz / 2, centre_hz + bandwidth_hz / 2, 9)
    return float(np.abs(renderer.device.response(f)[0]).min())


def sweep_band(scenario: Scenario, renderer: Renderer, bandwidth_hz: float) -> tuple[float, float]:
    """(centre, |H| at its weakest) of the band beside the tone the device plays best."""
    bands = candidate_bands(scenario.carrier_hz, bandwidth_hz)
    if not bands:
        raise ValueError(f"no {bandwidth_hz:.0f} Hz band beside a {scenario.carrier_hz} Hz tone")
    return max(
        ((centre, weakest_response(renderer, centre, bandwidth_hz)) for centre in bands),
        key=lambda band: band[1],
    )


def range_frames(
    scenario: Scenario,
    *,
    bandwidth_hz: float = 8000.0,
    sweep_s: float = 0.04,
    share_db: float = -3.0,
    coupling: float = 1.0,
    wrap: bool = True,
    period_s: float | None = None,
    code: bool = False,
    bank_mps: float = 0.0,
    offset_s: float = 0.0,
    static: bool = False,
) -> RangeFrames:
    """Range profiles of every scatter model of `scenario` (sum them, add `noise`).

    `share_db`: the sweep's level against the tone's calibrated level (half the power
    each, while it plays). Sweeps of `sweep_s` start every `period_s` (default: back to
    back) and range c·period of path without ambiguity (40 ms: 13.7 m); with `wrap`,
    longer paths fold onto the profile as an echo of the previous sweep does (without:
    profiles to MAX_PATH_M, an ideal).

    `code`: a pseudo-random phase code of the same band and length instead of a sweep.
    It does not couple range and Doppler but tolerates little Doppler: a path keeps
    |sinc(f_D·T)| of its echo, and every path leaves a sidelobe pedestal of 1/(B·T) of
    its power per cell within ±c·T of its delay, fresh each sweep (random, seeded).
    `bank_mps`: the code is matched to a bank of Doppler shifts covering path rates up
    to this, best per cell (ideal bank: no loss inside it, the sinc's beyond; the
    noise's max over the bank is not modelled). `offset_s`: when the first sweep starts
    (to interleave two kinds of sweep in one period).

    `static`: the direct speaker-to-mic path and the room's image sources (to the scene's
    `static_order`) as a profile "Static", their phases wandering with airflow (HVAC) as
    in the tone's renderer. Music, as there, moves the speaker cone: every path carries
    its excursion x (a delay x/c of the emission) and its force-factor AM, and for an LFM
    the cone's velocity couples into range like a path rate (-dx/dt).
    """
    period = sweep_s if period_s is None else period_s
    r = Renderer(scenario)
    c = r.c
    fc, response = sweep_band(scenario, r, bandwidth_hz)
    t = np.asarray(
        np.arange(0.0, scenario.duration_s - period, period) + offset_s + sweep_s / 2,
        dtype=np.float64,
    )
    span = c * period if wrap else MAX_PATH_M
    n_cells = int(span / CELL_M)
    att = float(absorption_db_per_m(fc, scenario.room.temperature_c, scenario.room.humidity_pct))
    a_np = att * math.log(10) / 20
    amplitude = 10 ** ((scenario.level_dbfs + share_db) / 20)
    noise_density = 10 ** ((scenario.device.mic_noise_dbfs_hz or -135.0) / 10)
    scale = amplitude * response * math.sqrt(sweep_s / noise_density)
    kernel = _kernel(bandwidth_hz, c)
    speaker, mic = r.spk_points, r.mic_points[:, 0, :]
    beta = r._beta7[_SPK_PATHS] * r._beta7[_MIC_PATHS]

    def paths(p: FloatArray) -> tuple[FloatArray, FloatArray]:
        rs = np.linalg.norm(p[:, :, None, :] - speaker[None, None], axis=-1)[..., _SPK_PATHS]
        rm = np.linalg.norm(p[:, :, None, :] - mic[None, None], axis=-1)[..., _MIC_PATHS]
        return rs * rm, rs + rm

    # The speaker cone, moved by music: per sweep, extra path (m) and amplitude.
    cone_x = np.zeros(len(t))
    cone_velocity = np.zeros(len(t))
    cone_gain = np.ones(len(t))
    for music in (m for m in r.models if isinstance(m, MusicModel)):
        cone_x += music.excursion(t)
        ahead, behind = music.excursion(t + 1e-4), music.excursion(t - 1e-4)
        cone_velocity += (np.asarray(ahead) - np.asarray(behind)) / 2e-4
        cone_gain *= np.abs(music.envelope(t, 0.0))  # its AM (k0 = 0: no phase)
    lfm = coupling if not code else 0.0
    cone_shift = -cone_x + lfm * lfm_shift(-cone_velocity, fc, bandwidth_hz, sweep_s)
    cone_phase = np.exp(2j * np.pi * fc * cone_x / c)  # the emission advanced by x/c

    profiles: dict[str, ComplexArray] = {}
    if static:
        d_dir = float(np.linalg.norm(mic - speaker[0], axis=1)[0])
        pos, wall = image_sources(
            r.device.speaker, scenario.room.size_m, np.asarray(scenario.room.reflection),
            scenario.room.static_order,
        )  # fmt: skip
        d = np.linalg.norm(pos - r.device.mics[0], axis=1)
        lengths = np.concatenate([[d_dir], d])
        gains = np.concatenate(
            [[10 ** (scenario.device.direct_db / 20)], r.echo_ref * wall / d * np.exp(-a_np * d)]
        )
        keep = (gains > 0) & (lengths < span if wrap else lengths < MAX_PATH_M)
        length = np.broadcast_to(lengths[keep][None, :], (len(t), int(keep.sum())))
        value = (
            gains[keep][None, :]
            * np.exp(-2j * np.pi * fc * lengths[keep][None, :] / c)
            * scale
            * (cone_gain * cone_phase)[:, None]
        )
        # Airflow: the echoes' phase wanders by group of path length, as the tone's
        # renderer groups them (direct path apart, then terciles).
        echo_lengths = lengths[keep][1:]
        edges = np.quantile(echo_lengths, [1 / 3, 2 / 3]) if echo_lengths.size else []
        group = np.concatenate([[0], 1 + np.searchsorted(edges, echo_lengths)])
        for hvac in (m for m in r.models if isinstance(m, HvacModel)):
            wander = np.stack([hvac.jitter(t, int(g)) if g else 0 * t for g in group], axis=1)
            value = value * np.exp(-2j * np.pi * fc * length * wander / c)
        y = np.zeros((len(t), n_cells), np.complex128)
        rows = np.broadcast_to(np.arange(len(t))[:, None], length.shape)
        where = np.mod(length + cone_shift[:, None], span) / CELL_M
        _place(y, rows, where, value, kernel=kernel, wrap=wrap)
        profiles["Static"] = y
    for i, model in enumerate(r.scatter):
        pos, amp = model.scatterers(t)
        spread, length = paths(pos)
        _, later = paths(model.scatterers(t + 1e-3)[0])
        rate = (later - length) / 1e-3  # dℓ/dt, m/s of path
        doppler = -rate * fc / c
        gain = r.echo_ref * beta[None, None, :] * amp[..., None] * np.exp(-a_np * length) / spread
        if code:
            pedestal_power = np.abs(gain * scale) ** 2 / (bandwidth_hz * sweep_s)
            covered = bank_mps * fc / c  # the bank's Doppler reach, Hz
            beyond = np.maximum(np.abs(doppler) - covered, 0.0)
            gain = gain * np.abs(np.sinc(beyond * sweep_s))
        elif coupling > 0:
            # energy, not amplitude, scales with the overlap once the image spreads
            gain = gain * np.sqrt(lfm_overlap(rate, fc, bandwidth_hz, c))
        else:
            gain = gain * lfm_overlap(rate, fc, bandwidth_hz, c)
        value = gain * np.exp(-2j * np.pi * fc * length / c) * scale
        value = value * (cone_gain * cone_phase)[None, :, None]
        shift = 0.0 if code else coupling * lfm_shift(rate, fc, bandwidth_hz, sweep_s)
        centre = length + shift + cone_shift[None, :, None]
        y = np.zeros((len(t), n_cells), np.complex128)
        rows = np.broadcast_to(np.arange(len(t))[None, :, None], centre.shape)
        # A real LFM's image spreads (RANGE_WALK); the ideal's and a code's do not.
        walk = RANGE_WALK * np.abs(rate) * sweep_s if coupling > 0 and not code else 0 * rate
        _place_spread(y, rows, centre, value, walk, kernel=kernel, span=span, wrap=wrap)
        if code:
            base = np.floor(np.mod(centre, span) / CELL_M).astype(int)
            reach = c * sweep_s
            key = (scenario.seed, i)
            y += _pedestal(
                pedestal_power, base, rows, n_cells=n_cells, reach_m=reach, wrap=wrap, key=key
            )
        profiles[f"{type(model).__name__}{i}"] = y
    return RangeFrames(t, profiles, fc, response, att)


def lfm_image(
    rate: float, fc_hz: float, bandwidth_hz: float, sweep_s: float, c: float
) -> ComplexArray:
    """One unit path's profile (cells from 0 to MAX_PATH_M) as `range_frames` draws it for
    a plain LFM: 2 m of path plus the coupling's shift, spread by the range walk."""
    r = np.array([[[rate]]])
    centre = 2.0 + lfm_shift(r, fc_hz, bandwidth_hz, sweep_s)
    value = np.sqrt(lfm_overlap(r, fc_hz, bandwidth_hz, c)).astype(np.complex128)
    y = np.zeros((1, int(MAX_PATH_M / CELL_M)), np.complex128)
    walk = RANGE_WALK * np.abs(r) * sweep_s
    kernel = _kernel(bandwidth_hz, c)
    _place_spread(
        y, np.zeros(r.shape, int), centre, value, walk, kernel=kernel, span=MAX_PATH_M, wrap=False
    )
    return np.asarray(y[0])


def _place_spread(
    y: ComplexArray,
    rows: npt.NDArray[np.int_],
    centre: FloatArray,
    value: ComplexArray,
    walk: FloatArray,
    *,
    kernel: ComplexArray,
    span: float,
    wrap: bool,
) -> None:
    """Add each path's image at `centre` (m of path), spread over `walk` m as sub-images
    SPREAD_CELLS apart sharing its energy (one where `walk` is 0)."""
    parts = np.maximum(1, np.ceil(walk / (SPREAD_CELLS * CELL_M))).astype(int)
    for j in range(int(parts.max())):
        sub = parts > j
        at = centre[sub] + ((j + 0.5) / parts[sub] - 0.5) * walk[sub]
        share = value[sub] / np.sqrt(parts[sub])
        _place(y, rows[sub], np.mod(at, span) / CELL_M, share, kernel=kernel, wrap=wrap)


def _place(
    y: ComplexArray,
    rows: npt.NDArray[np.int_],
    where: FloatArray,
    value: ComplexArray,
    *,
    kernel: ComplexArray,
    wrap: bool,
) -> None:
    """Add each `value` to sweep `rows` around cell `where` through the compressed pulse
    (`_kernel`: eight taps a cell)."""
    n_cells = y.shape[1]
    half = (len(kernel) - 1) // 2
    base = np.floor(where).astype(int)
    for off in range(-(half // 8), half // 8 + 1):
        cells = np.mod(base + off, n_cells) if wrap else base + off
        tap = np.rint((base + off - where) * 8).astype(int) + half
        ok = (tap >= 0) & (tap < len(kernel)) & (cells >= 0) & (cells < n_cells)
        np.add.at(y, (rows[ok], cells[ok]), value[ok] * kernel[tap[ok]])


def _pedestal(
    power: FloatArray,
    cell: npt.NDArray[np.int_],
    rows: npt.NDArray[np.int_],
    *,
    n_cells: int,
    reach_m: float,
    wrap: bool,
    key: tuple[int, int],
) -> ComplexArray:
    """A phase code's sidelobes: each path's `power` on every cell within `reach_m` of its
    own, as complex Gaussian noise drawn afresh per sweep."""
    sweeps = rows.shape[1]
    level = np.zeros((sweeps, n_cells))
    ok = (cell >= 0) & (cell < n_cells) if not wrap else np.ones(cell.shape, bool)
    np.add.at(level, (rows[ok], np.mod(cell[ok], n_cells)), power[ok])
    width = max(1, round(reach_m / CELL_M))
    box = np.ones(2 * width + 1)
    if wrap:
        padded = np.concatenate([level[:, -width:], level, level[:, :width]], axis=1)
        level = np.apply_along_axis(np.convolve, 1, padded, box, mode="valid")
    else:
        level = np.apply_along_axis(np.convolve, 1, level, box, mode="same")
    rng = np.random.default_rng([*key, 0xC0DE])
    draw = rng.standard_normal((sweeps, n_cells)) + 1j * rng.standard_normal((sweeps, n_cells))
    return np.asarray(draw * np.sqrt(level / 2))


def noise(shape: tuple[int, ...], seed: int) -> ComplexArray:
    """Unit complex Gaussian noise per cell and sweep (the profiles' units)."""
    rng = np.random.default_rng(seed)
    return np.asarray((rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / math.sqrt(2))
