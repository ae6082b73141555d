"""The range-band feasibility statistic (research/range_band, not shipped) tells a body
that moves from one range to another from a rotor that stays where it is."""

from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np
import pytest

translation = importlib.import_module("translation")  # research/range_band (conftest)

SWEEP_S = 0.04
CELL_M = 0.02
FC_HZ = 30000.0
C = 343.0


def _profiles(paths: np.ndarray, amplitude: float, seed: int) -> np.ndarray:
    """(sweeps, cells) profiles of point echoes at path lengths `paths` (sweeps, points):
    each a compressed pulse three cells wide with the carrier phase of its path, + noise."""
    sweeps, cells = paths.shape[0], 800
    y = np.zeros((sweeps, cells), np.complex128)
    for k in range(sweeps):
        for length in paths[k]:
            cell = round(length / CELL_M)
            phase = np.exp(-2j * np.pi * FC_HZ * length / C)
            for off, w in ((-1, 0.5), (0, 1.0), (1, 0.5)):
                if 0 <= cell + off < cells:
                    y[k, cell + off] += amplitude * w * phase
    rng = np.random.default_rng(seed)
    return y + (rng.standard_normal(y.shape) + 1j * rng.standard_normal(y.shape)) / np.sqrt(2)


def _score(paths: np.ndarray) -> float:
    motion = translation.motion_map(_profiles(paths, 30.0, 1))
    return float(translation.translation_score(motion).max())


@pytest.mark.parametrize("speed", [0.5, 1.0, 1.6])
def test_a_walker_translating_scores_high(speed: float) -> None:
    t = np.arange(100) * SWEEP_S  # 4 s
    paths = (9.0 - 2 * speed * t)[:, None]  # approaching: the path shortens at 2v
    assert _score(paths) > 12.0


def test_a_rotor_that_stays_put_scores_low_running_and_spinning_up() -> None:
    t = np.arange(250) * SWEEP_S  # 10 s: off for 3 s, then on
    angle = 2 * np.pi * 12.0 * t[:, None] + np.arange(3)[None, :] * 2 * np.pi / 3
    blades = 4.0 + 0.4 * np.sin(angle)  # three blade tips ±0.2 m in range about 2 m
    on = (t >= 3.0)[:, None]
    paths = np.where(on, blades, 50.0)  # off: beyond the profiles
    assert _score(paths) < 6.0


def test_the_joint_score_keeps_lines_both_sweeps_see_at_the_same_range() -> None:
    """A walker's image moves by fc·T/B·v: within a bin for both sweep lengths. A fast
    blade's image lands at different ranges for each, and the joint score drops it."""
    t = np.arange(100) * SWEEP_S
    walker = (9.0 - 2.0 * t)[:, None]
    maps_same = [
        translation.motion_map(_profiles(walker + d, 30.0, s)) for s, d in ((1, 0.0), (2, 0.04))
    ]
    maps_apart = [
        translation.motion_map(_profiles(walker + d, 30.0, s)) for s, d in ((1, 0.0), (2, 1.5))
    ]
    # a line seen by one sweep only: the other sees the same line 1.5 m away, never the same cells
    assert translation.joint_translation_score(maps_same).max() > 12.0
    assert translation.joint_translation_score(maps_apart).max() < 6.0


def _range_profiles() -> ModuleType:
    """range_profiles imports the engine's simulator: imported only by the tests that use it."""
    return importlib.import_module("range_profiles")


def _sample_level(rate: float, sweep: float) -> tuple[float, float, float]:
    """A sweep echoed by a path of 2 m + rate·t, sampled at 96 kHz and matched-filtered
    (unweighted): (apparent path beyond the path at the echo's middle in m, peak and
    equivalent width both relative to a still path's)."""
    fs, f_lo, bandwidth, c, start = 96000, 24000.0, 8000.0, 343.0, 2.0
    t = np.arange(round((sweep + 0.03) * fs)) / fs

    def chirp(u: np.ndarray) -> np.ndarray:
        inside = (u >= 0) & (u < sweep)
        phase = 2 * np.pi * (f_lo * u + bandwidth / (2 * sweep) * u**2)
        return np.where(inside, np.exp(1j * phase), 0)

    emitted = chirp(t)[: round(sweep * fs)]
    out = np.abs(np.correlate(chirp(t - (start + rate * t) / c), emitted, mode="valid"))
    still = np.abs(np.correlate(chirp(t - start / c), emitted, mode="valid"))
    k = int(np.argmax(out))
    a, b, d = out[k - 1], out[k], out[k + 1]
    lag = (k + 0.5 * (a - d) / (a - 2 * b + d)) / fs
    shift = lag * c - (start + rate * (start / c + sweep / 2))
    width = float((out**2).sum() / out.max() ** 2) / float((still**2).sum() / still.max() ** 2)
    return shift, float(out.max() / still.max()), width


def _model_image(rate: float, sweep: float) -> tuple[float, float, float]:
    """The same from range_profiles' drawing of one path (Hann-weighted)."""
    rp = _range_profiles()
    still = np.abs(rp.lfm_image(0.0, 28000.0, 8000.0, sweep, 343.0))
    image = np.abs(rp.lfm_image(rate, 28000.0, 8000.0, sweep, 343.0))
    shift = float(rp.lfm_shift(np.asarray(rate), 28000.0, 8000.0, sweep))

    def width(y: np.ndarray) -> float:
        return float((y**2).sum() / y.max() ** 2)

    return shift, float(image.max() / still.max()), width(image) / width(still)


@pytest.mark.parametrize("rate", [0.0, 3.0, -3.0])
def test_the_lfm_shift_matches_a_sample_level_matched_filter_at_walking_speed(
    rate: float,
) -> None:
    """At walking speeds the image sits fc·T/B·rate further than the path, to 1.5 cm."""
    measured, _, _ = _sample_level(rate, 0.01)
    assert measured == pytest.approx(_model_image(rate, 0.01)[0], abs=0.015)


@pytest.mark.parametrize(
    ("rate", "sweep"), [(10.0, 0.01), (30.0, 0.01), (-30.0, 0.01), (20.0, 0.005), (10.0, 0.04)]
)
def test_a_fast_path_is_shifted_and_spread_as_a_matched_filter_does(
    rate: float, sweep: float
) -> None:
    """A blade's image: the shift to 25 % (the model takes fc where the overlapping part of
    the band is off-centre: 1.26 m measured against 1.05 m at 30 m/s, 10 ms), the peak to
    2.5 dB and the spread (the path's change and the coupling's drift over the sweep) to
    a factor 1.5."""
    shift, peak, width = _sample_level(rate, sweep)
    model_shift, model_peak, model_width = _model_image(rate, sweep)
    assert shift == pytest.approx(model_shift, rel=0.25)
    assert abs(20 * np.log10(model_peak / peak)) < 2.5
    assert 1 / 1.5 < model_width / width < 1.5


def test_static_paths_cancel_unless_music_moves_the_speaker_cone() -> None:
    """The direct path and the room's echoes are the same every sweep, so the clutter
    filter removes them; music moving the cone shifts and scales them sweep to sweep."""
    from uspd.sim.library import random_scenario
    from uspd.sim.music import Music

    rp = _range_profiles()
    scene = random_scenario("music", 8005000, duration_s=3.0, sample_rate=96000, n_mics=4)
    quiet = scene.replace(actors=tuple(a for a in scene.actors if not isinstance(a, Music)))
    frames = {
        name: rp.range_frames(s, sweep_s=0.01, period_s=0.04, static=True).profiles["Static"]
        for name, s in (("music", scene), ("quiet", quiet))
    }
    for name, profile in frames.items():
        change = np.abs(np.diff(profile, axis=0)).max() / np.abs(profile).max()
        assert (change > 1e-2) if name == "music" else (change < 1e-9), (name, change)
