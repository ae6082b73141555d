"""Music distortion canceller on simulated scenes (uspd.sim): removal vs. kept motion."""

from __future__ import annotations

import numpy as np
import pytest

from uspd.dsp.bench import canceller_curve
from uspd.dsp.canceller import _mic_sum, power
from uspd.dsp.chain import DspChain
from uspd.dsp.features import FeatureFrames, _bin_sum
from uspd.sim import DeviceSpec, FloorFan, Music, Scenario, SimulatedSource, WalkingPerson
from uspd.sim.scenario import Actor


@pytest.mark.parametrize("mics", [2, 4])
def test_sidebands_removed_walking_kept(mics: int) -> None:
    """Bass-heavy music, 0.2–2 mm cone excursion: ≥ 20 dB removed, walker within 3 dB."""
    for point in canceller_curve(mics, (0.2, 0.5, 1.0, 2.0)):
        assert point.distortion_dbc > -32.0  # the music really fills the Doppler band
        assert point.reduction_db >= 20.0, point
        assert abs(point.walk_retained_db) <= 3.0, point
        assert point.music_flagged > 0.9, point


def test_ultrasonic_carrier_hiphop() -> None:
    """Same at 40 kHz / 96 kHz with another genre and device."""
    (point,) = canceller_curve(
        4, (1.0,), genre="hiphop", sample_rate=96_000, carrier_hz=40_000.0, seed=7
    )
    assert point.reduction_db >= 20.0, point
    assert abs(point.walk_retained_db) <= 3.0, point


def _frames(mics: int, actors: tuple[Actor, ...]) -> FeatureFrames:
    scene = Scenario(
        sample_rate=48_000,
        carrier_hz=20_000.0,
        n_mics=mics,
        duration_s=4.0,
        seed=3,
        device=DeviceSpec(hw_seed=3),
        actors=actors,
    )
    return DspChain(48_000, 20_000.0, mics).process(SimulatedSource(scene).read(4 * 48_000))


def test_single_mic_flags_reduced_sensitivity() -> None:
    """One mic cannot null the speaker: music is flagged as 'sensitivity reduced'."""
    for genre, excursion in (("edm", 1.0), ("classical", 0.2)):
        music = _frames(1, (Music(genre=genre, excursion_mm=excursion),))
        assert music.sensitivity_reduced[30:].mean() > 0.8
    walker = WalkingPerson(path=((3.0, 0.8), (1.6, 3.2)), start_s=0.5)
    for actors in ((), (walker,), (FloorFan(position=(2.0, 1.0)),)):
        assert _frames(1, actors).music.mean() < 0.05


def test_no_music_no_flag() -> None:
    """Walking alone (and silence) is not mistaken for music by the multi-mic detector."""
    walker = WalkingPerson(path=((3.0, 0.8), (1.6, 3.2)), start_s=0.5)
    for actors in ((), (walker,)):
        frames = _frames(4, actors)
        assert frames.music[10:].mean() < 0.05
        assert not frames.sensitivity_reduced.any()


def test_levels_reported_per_frame() -> None:
    frames = _frames(2, (Music(genre="edm", excursion_mm=1.0),))
    level = np.asarray(frames.music_level_db)
    residual = np.asarray(frames.residual_level_db)
    assert level.shape == residual.shape == (frames.features.shape[0],)
    assert np.median(level[30:] - residual[30:]) > 20.0


def _spectra_powers(frames: int, mics: int, seed: int) -> np.ndarray:
    """|X|² laid out as the features make it (fancy-indexed FFT bins: bins outermost)."""
    rng = np.random.default_rng(seed)
    shape = (frames, mics, 800)
    x = rng.standard_normal(shape) * 10.0 ** rng.uniform(-9, 0, shape) + 1j * rng.standard_normal(
        shape
    )
    spectra = x[:, :, np.r_[0:174, 626:800]]
    return power(spectra)


@pytest.mark.parametrize("frames", [1, 2, 7, 20])
@pytest.mark.parametrize("mics", [1, 2, 3, 4, 8])
def test_spelled_out_sums_are_numpys(frames: int, mics: int) -> None:
    """The per-mic and per-bin sums give np.add.reduce's bits and layout on feature spectra."""
    powers = _spectra_powers(frames, mics, seed=frames * 10 + mics)
    total = _mic_sum(powers)
    reference = np.add.reduce(powers, axis=1)
    np.testing.assert_array_equal(total, reference)
    assert total.strides == reference.strides  # later sums over bins follow the layout
    np.testing.assert_array_equal(_bin_sum(powers), np.add.reduce(powers, axis=2))
