"""Feature contract, chunking invariance, velocity axis, normalisation, clutter removal."""

from __future__ import annotations

import numpy as np
import pytest

from uspd.dsp import testsignals as ts
from uspd.dsp.chain import DspChain
from uspd.dsp.features import (
    CONTEXT_FRAMES,
    FEATURE_CEIL_DB,
    FEATURE_FLOOR_DB,
    FEATURE_SHAPE,
    FRAME_HOP_S,
    N_BINS,
    N_PLANES,
    PLANE_MOTION,
    SETTLE_S,
    V_MAX_MPS,
    ContextWindow,
    FeatureFrames,
    scale_features,
    velocity_centers,
    velocity_edges,
)
from uspd.dsp.physics import doppler_hz
from uspd.sim import DeviceSpec, Music, Scenario, SimulatedSource, WalkingPerson


def test_contract_constants() -> None:
    assert FEATURE_SHAPE == (CONTEXT_FRAMES, N_BINS, N_PLANES) == (24, 64, 2)
    assert 1.0 <= CONTEXT_FRAMES * FRAME_HOP_S <= 1.5
    edges = velocity_edges()
    assert edges.size == N_BINS + 2  # two halves, each with its own inner edge
    assert np.all(np.diff(edges) > 0)
    np.testing.assert_allclose(edges, -edges[::-1])
    assert edges[-1] == pytest.approx(V_MAX_MPS)
    centers = velocity_centers()
    assert centers.shape == (N_BINS,)
    assert np.all(np.diff(centers) > 0)
    assert np.all(np.diff(centers[N_BINS // 2 :]) < 0.4)  # ≤ 0.4 m/s everywhere
    assert centers[N_BINS // 2] < 0.08  # fine near zero for minor motion
    assert scale_features([FEATURE_FLOOR_DB, FEATURE_CEIL_DB, 0.0]).tolist() == [0.0, 1.0, 1.0]


@pytest.mark.parametrize("sample_rate", [44_100, 48_000, 96_000, 192_000])
def test_one_frame_per_hop(sample_rate: int) -> None:
    carrier = 20_000.0 if sample_rate < 90_000 else 40_000.0
    chain = DspChain(sample_rate, carrier, 1)
    assert chain.frame_hop_s == pytest.approx(FRAME_HOP_S, rel=0.01)
    audio = ts.render(ts.Scene(mics=1, carrier_hz=carrier, walls=()), 2.0, sample_rate)
    frames = chain.process(audio)
    assert abs(frames.features.shape[0] - 2.0 / FRAME_HOP_S) <= 2
    assert frames.features.shape[1:] == (N_BINS, N_PLANES)
    assert frames.features.dtype == np.float32


@pytest.mark.parametrize(
    ("sample_rate", "carrier", "mics"),
    [(96_000, 38_585.3, 4), (44_100, 19_000.0, 2), (48_000, 20_317.0, 1)],
)
def test_chunking_invariance_with_music_and_walker(
    sample_rate: int, carrier: float, mics: int
) -> None:
    """One block, the live 50 ms blocks, and random sizes (0 to 1.3 s) give bit-identical
    features, flags and levels — also for carriers whose mixer phase step is not a whole
    number of turns (a per-call phase accumulator once broke that, and the adaptive
    canceller turned its last-bit differences into dB-sized ones)."""
    scene = Scenario(
        sample_rate=sample_rate,
        carrier_hz=carrier,
        n_mics=mics,
        duration_s=4.0,
        seed=5,
        device=DeviceSpec(hw_seed=5),
        actors=(
            Music(genre="edm", excursion_mm=0.8),
            WalkingPerson(path=((3.0, 0.8), (1.6, 3.2)), start_s=1.0),
        ),
    )
    audio = SimulatedSource(scene).read(4 * sample_rate)
    whole = DspChain(sample_rate, carrier, mics).process(audio)
    rng = np.random.default_rng(11)
    live = round(0.05 * sample_rate)
    for sizes in (
        lambda: live,
        lambda: int(rng.choice([0, 1, 17, 480, 4_800, int(rng.integers(1, 130_000))])),
    ):
        chain = DspChain(sample_rate, carrier, mics)
        parts: list[FeatureFrames] = []
        i = 0
        while i < len(audio):
            size = sizes()
            parts.append(chain.process(audio[i : i + size]))
            i += size
        pieces = FeatureFrames.concatenate(parts, mics)
        assert pieces.features.shape == whole.features.shape
        assert pieces.features.shape[1:] == (N_BINS, N_PLANES)
        np.testing.assert_array_equal(pieces.features, whole.features)
        np.testing.assert_array_equal(pieces.music, whole.music)
        np.testing.assert_array_equal(pieces.settled, whole.settled)
        # A diagnostic level (not a feature): numpy's row sums round differently for
        # one row than for many, by ≈1e-11 dB.
        np.testing.assert_allclose(pieces.residual_level_db, whole.residual_level_db, atol=1e-9)
    assert whole.music[40:].any()  # the scene does hold music
    # Settling lasts at least SETTLE_S (6 frames) — with 50 ms blocks too (equal above).
    assert int(np.argmax(whole.settled)) >= round(SETTLE_S / FRAME_HOP_S)


def _echo(sample_rate: int, carrier: float, velocity: float, gain: float) -> np.ndarray:
    """Carrier + one echo at the Doppler shift of `velocity` + noise, scaled by gain."""
    t = np.arange(2 * sample_rate) / sample_rate
    shift = doppler_hz(velocity, carrier)
    x = 0.1 * np.cos(2 * np.pi * carrier * t) + 1e-4 * np.cos(2 * np.pi * (carrier + shift) * t)
    x = x + 1e-5 * np.random.default_rng(0).standard_normal(t.size)
    return (gain * x).astype(np.float32)[:, None]


@pytest.mark.parametrize(("sample_rate", "carrier"), [(48_000, 20_000.0), (96_000, 40_000.0)])
@pytest.mark.parametrize("velocity", [-2.5, -0.3, 1.0])
def test_velocity_axis_is_carrier_independent(
    sample_rate: int, carrier: float, velocity: float
) -> None:
    """An echo at v m/s peaks in the bin of v (sign = approaching) whatever the carrier."""
    frames = DspChain(sample_rate, carrier, 1).process(_echo(sample_rate, carrier, velocity, 1.0))
    mean = frames.features[10:, :, PLANE_MOTION].mean(axis=0)
    edges = velocity_edges()
    peak = int(np.argmax(mean))
    lower = np.concatenate([edges[: N_BINS // 2], edges[N_BINS // 2 + 1 : -1]])
    upper = np.concatenate([edges[1 : N_BINS // 2 + 1], edges[N_BINS // 2 + 2 :]])
    assert lower[peak] - 0.02 <= velocity <= upper[peak] + 0.02
    assert mean[peak] - np.median(mean) > 30.0


@pytest.mark.parametrize(("sample_rate", "carrier"), [(48_000, 20_000.0), (96_000, 40_000.0)])
def test_guard_band_holds_what_no_body_reaches(sample_rate: int, carrier: float) -> None:
    """A line at the shift of 7 m/s (no part of a walker moves so fast: emitted
    ultrasound) raises the guard-band level and stays out of the motion plane; an echo
    at 3 m/s (a swinging foot) does the opposite."""
    emitted = DspChain(sample_rate, carrier, 1).process(_echo(sample_rate, carrier, 7.0, 1.0))
    echo = DspChain(sample_rate, carrier, 1).process(_echo(sample_rate, carrier, 3.0, 1.0))
    # The line is 60 dB under the carrier (the front end's transition band takes up to
    # 1 dB at 1.6 kHz); the echo's guard band holds only noise.
    assert np.median(emitted.guard_level_db[10:]) == pytest.approx(-60.0, abs=1.5)
    assert np.median(emitted.guard_level_db[10:] - echo.guard_level_db[10:]) > 20.0
    motion = (
        emitted.features[10:, :, PLANE_MOTION].max(),
        echo.features[10:, :, PLANE_MOTION].max(),
    )
    assert motion[1] - motion[0] > 30.0


def test_features_independent_of_emission_level_and_gain() -> None:
    """Scaling everything by -40 dB (emission level or mic gain) changes nothing."""
    loud = DspChain(48_000, 20_000.0, 1).process(_echo(48_000, 20_000.0, 1.0, 1.0))
    quiet = DspChain(48_000, 20_000.0, 1).process(_echo(48_000, 20_000.0, 1.0, 0.01))
    assert np.max(np.abs(loud.features[6:] - quiet.features[6:])) < 0.1


def test_static_clutter_removed() -> None:
    """Strong static reflections leave the features at the no-reflection noise floor."""
    with_walls = ts.Scene(mics=2, carrier_hz=20_000.0, noise_dbfs=-90.0)
    bare = ts.Scene(mics=2, carrier_hz=20_000.0, noise_dbfs=-90.0, walls=())
    a = DspChain(48_000, 20_000.0, 2).process(ts.render(with_walls, 3.0, 48_000))
    b = DspChain(48_000, 20_000.0, 2).process(ts.render(bare, 3.0, 48_000))
    mean_a = a.features[10:, :, PLANE_MOTION].mean(axis=0)
    mean_b = b.features[10:, :, PLANE_MOTION].mean(axis=0)
    assert np.max(np.abs(mean_a - mean_b)) < 1.0
    walker = ts.Scene(mics=2, carrier_hz=20_000.0, noise_dbfs=-90.0, walker=ts.Walker())
    c = DspChain(48_000, 20_000.0, 2).process(ts.render(walker, 3.0, 48_000))
    assert c.features[10:, :, PLANE_MOTION].mean(axis=0).max() - mean_b.max() > 20.0


def test_no_carrier_frames_marked() -> None:
    noise = (1e-4 * np.random.default_rng(2).standard_normal((48_000, 2))).astype(np.float32)
    frames = DspChain(48_000, 20_000.0, 2).process(noise)
    assert not frames.carrier_ok.any()
    assert (frames.features == FEATURE_FLOOR_DB).all()
    assert not frames.music.any()


def test_context_window() -> None:
    window = ContextWindow()
    rng = np.random.default_rng(0)
    frames = rng.uniform(-150, -50, (30, N_BINS, N_PLANES)).astype(np.float32)
    for i, frame in enumerate(frames):
        tensor = window.push(frame)
        assert window.full == (i + 1 >= CONTEXT_FRAMES)
    assert tensor.shape == FEATURE_SHAPE
    np.testing.assert_array_equal(tensor, frames[-CONTEXT_FRAMES:])


@pytest.mark.parametrize(
    ("sample_rate", "mics"),
    [(44_100, 1), (48_000, 3), (88_200, 8), (96_000, 2), (176_400, 1), (192_000, 8)],
)
def test_every_rate_and_mic_count(sample_rate: int, mics: int) -> None:
    """1–8 mics at 44.1–192 kHz, carriers 18–45 kHz: frames flow, music is removed."""
    carrier = 18_500.0 if sample_rate < 88_000 else 42_000.0
    scene = ts.Scene(mics=mics, carrier_hz=carrier, music=(0.05, 0.05), walls=())
    frames = DspChain(sample_rate, carrier, mics).process(ts.render(scene, 2.0, sample_rate))
    assert frames.features.shape[1:] == (N_BINS, N_PLANES)
    assert frames.carrier_ok[10:].all()
    assert frames.music[-8:].all()  # one mic: after its 1 s mirrored-sideband average
    if mics > 1:  # the speaker-borne sidebands are nulled, not just flagged
        assert np.median(frames.music_level_db[15:] - frames.residual_level_db[15:]) > 20.0


@pytest.mark.parametrize("offset_hz", [0.5, 2.5])
def test_carrier_frequency_offset_tracked(offset_hz: float) -> None:
    """A carrier a few Hz off the mixer (clock mismatch) still leaves a clean floor."""
    t = np.arange(3 * 48_000) / 48_000
    noise = 1e-5 * np.random.default_rng(4).standard_normal(t.size)

    def floor(offset: float) -> np.ndarray:
        x = 0.1 * np.cos(2 * np.pi * (20_000.0 + offset) * t) + noise
        frames = DspChain(48_000, 20_000.0, 1).process(x.astype(np.float32)[:, None])
        assert frames.carrier_ok[10:].all()
        return np.asarray(frames.features[10:, :, PLANE_MOTION].mean(axis=0))

    assert np.max(np.abs(floor(offset_hz) - floor(0.0))) < 3.0
