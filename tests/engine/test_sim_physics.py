"""Physics of the simulator: Doppler, spreading + ISO absorption, static scenes, music."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import jv

from uspd.dsp.physics import speed_of_sound
from uspd.sim import DeviceSpec, Music, PointReflector, Room, Scenario, SimulatedSource
from uspd.sim.acoustics import absorption_db_per_m, image_sources
from uspd.sim.library import build_scenario

FS = 96000
F0 = 40000.0
QUIET = DeviceSpec(
    position_m=(1.0, 4.0, 1.0), mic_noise_dbfs_hz=None, adc_bits=None, speaker_cutoff_hz=60000.0
)


def _render(actors: tuple[object, ...], *, seconds: float = 1.0, room: Room | None = None,
            device: DeviceSpec = QUIET, n_mics: int = 1, fs: int = FS, f0: float = F0,
            ) -> tuple[SimulatedSource, np.ndarray]:  # fmt: skip
    sc = Scenario(
        sample_rate=fs, carrier_hz=f0, n_mics=n_mics, duration_s=seconds, seed=3,
        room=room or Room.anechoic((12.0, 8.0, 3.0)), device=device, actors=actors,  # type: ignore[arg-type]
    )  # fmt: skip
    src = SimulatedSource(sc)
    return src, src.read(round(seconds * fs)).astype(np.float64)


def _lock_in(x: np.ndarray, f: float, n0: int, fs: int = FS) -> np.ndarray:
    """Complex amplitude of frequency f in x[n0:] (Hann-weighted), per channel."""
    n = x.shape[0] - n0
    t = np.arange(n0, n0 + n) / fs
    w = np.hanning(n)
    return (x[n0:] * (w * np.exp(-2j * np.pi * f * t))[:, None]).sum(axis=0) * 2 / w.sum()


@pytest.mark.parametrize(
    ("rh", "expected"),
    [(50.0, (0.52, 1.02, 1.32)), (30.0, (0.60, 0.90, 1.07))],
)
def test_iso9613_matches_physics_notes(rh: float, expected: tuple[float, ...]) -> None:
    got = [absorption_db_per_m(f, 20.0, rh) for f in (20e3, 32e3, 40e3)]
    assert got == pytest.approx(expected, abs=0.02)


def test_speed_of_sound_grows_with_temperature() -> None:
    assert speed_of_sound(20.0) == pytest.approx(343.4, abs=0.1)
    assert speed_of_sound(30.0) > speed_of_sound(10.0)


def test_image_sources_first_order_mirror_the_walls() -> None:
    pos, gain = image_sources(np.array([1.0, 2.0, 1.5]), (5.0, 4.0, 3.0), np.full(6, 0.5), 1)
    assert len(pos) == 6
    assert {tuple(p) for p in pos} >= {(-1.0, 2.0, 1.5), (9.0, 2.0, 1.5), (1.0, 2.0, -1.5)}
    assert np.allclose(gain, 0.5)


@pytest.mark.parametrize("v", [0.3, 1.0, -0.6])
def test_radial_reflector_doppler_within_one_bin(v: float) -> None:
    src, x = _render((PointReflector(position_m=(3.0, 4.0, 1.0), velocity_mps=(v, 0, 0)),),
                     seconds=1.5)  # fmt: skip
    seg = x[FS // 2 :, 0]  # 1 s → 1 Hz bins
    spec = np.abs(np.fft.rfft(seg * np.hanning(seg.size)))
    f = np.fft.rfftfreq(seg.size, 1 / FS)
    band = (np.abs(f - F0) > 5) & (np.abs(f - F0) < 1500)
    peak = f[band][np.argmax(spec[band])] - F0
    expected = -2 * v * F0 / speed_of_sound(src.scenario.room.temperature_c)
    assert abs(peak - expected) <= 1.0


@pytest.mark.parametrize("r", [0.5, 2.0, 6.0])
def test_echo_level_follows_spreading_and_iso_absorption(r: float) -> None:
    v = 0.2
    _, base = _render(())
    src, x = _render((PointReflector(position_m=(1.0 + r - 0.1, 4.0, 1.0), velocity_mps=(v, 0, 0),
                                     rcs_m2=0.1),))  # fmt: skip
    room = src.scenario.room
    fd = -2 * v * F0 / speed_of_sound(room.temperature_c)
    n0 = int(0.375 * FS)
    amp = abs(_lock_in((x - base)[: n0 + FS // 4], F0 + fd, n0)[0])
    dev = src.renderer.device
    p = np.array([1.0 + r - 0.1 + v * 0.5, 4.0, 1.0])
    r1, r2 = np.linalg.norm(p - dev.speaker), np.linalg.norm(p - dev.mics[0])
    alpha = absorption_db_per_m(F0, room.temperature_c, room.humidity_pct)
    expected = (
        10 ** ((src.scenario.level_dbfs + QUIET.echo_ref_db) / 20)
        * np.sqrt(0.1 / (4 * np.pi)) / (r1 * r2)
        * 10 ** (-alpha * (r1 + r2) / 20)
        * abs(src.device_response(F0 + fd))
    )  # fmt: skip
    assert 20 * np.log10(amp / expected) == pytest.approx(0.0, abs=1.0)


def test_static_scene_has_no_energy_outside_one_hz() -> None:
    fs, f0 = 48000, 20000.0
    _, x = _render((), seconds=8.0, room=Room(), device=DeviceSpec(
        mic_noise_dbfs_hz=None, adc_bits=None), fs=fs, f0=f0)  # fmt: skip
    w = np.kaiser(x.shape[0], 16)
    spec = np.abs(np.fft.rfft(x[:, 0] * w))
    f = np.fft.rfftfreq(x.shape[0], 1 / fs)
    level = 20 * np.log10(spec / spec.max() + 1e-300)
    outside = (np.abs(f - f0) > 1.0) & (np.abs(f - f0) < 3000)
    assert level[outside].max() < -100.0


def test_static_scene_with_noise_is_at_the_noise_floor() -> None:
    fs, f0 = 48000, 20000.0
    dev = DeviceSpec(mic_noise_dbfs_hz=-120.0, adc_bits=None)
    _, x = _render((), seconds=2.0, room=Room(), device=dev, fs=fs, f0=f0)
    spec = np.fft.rfft(x[:, 0] * np.hanning(x.shape[0]))
    f = np.fft.rfftfreq(x.shape[0], 1 / fs)
    band = (np.abs(f - f0) > 20) & (np.abs(f - f0) < 1500)
    enbw = 1.5 * fs / x.shape[0]  # Hann equivalent noise bandwidth in Hz
    density = np.mean(np.abs(spec[band]) ** 2) / (np.sum(np.hanning(x.shape[0])) ** 2) * 2 / enbw
    # one-sided density of white noise with total power sigma² = N0·fs/2
    assert 10 * np.log10(density) == pytest.approx(-120.0, abs=1.5)


def test_music_sidebands_level_and_spatial_signature() -> None:
    f0, fb, xmm, am = 32000.0, 60.0, 1.0, 0.1
    music = Music(genre="tone", tone_hz=fb, excursion_mm=xmm, am_depth=am, level_dbfs=-20.0)
    src, x = _render((music,), seconds=1.5, n_mics=4, f0=f0)
    n0 = FS // 2
    c, up, lo = (_lock_in(x, f, n0) for f in (f0, f0 + fb, f0 - fb))
    beta = 2 * np.pi * f0 * xmm * 1e-3 / speed_of_sound(src.scenario.room.temperature_c)
    assert beta == pytest.approx(0.59, abs=0.01)  # physics.md: 1 mm at 32 kHz ≈ 0.59 rad

    def coef(n: int) -> complex:
        return complex(jv(n, beta) + am / 2j * (jv(n - 1, beta) - jv(n + 1, beta)))

    for side, meas in ((1, up), (-1, lo)):
        h = abs(src.device_response(f0 + side * fb) / src.device_response(f0))
        expected_db = 20 * np.log10(abs(coef(side) / coef(0)) * h)
        assert expected_db == pytest.approx(-10.2, abs=0.6)
        assert 20 * np.log10(np.abs(meas / c)) == pytest.approx(np.full(4, expected_db), abs=0.2)
        # the sidebands leave the speaker: same inter-mic ratios as the carrier's direct path
        ratio = (meas / meas[0]) / (c / c[0])
        assert np.abs(20 * np.log10(np.abs(ratio))).max() < 0.1
        assert np.abs(np.angle(ratio)).max() < 0.02


def test_walker_micro_doppler_spreads_beyond_the_torso() -> None:
    sc = build_scenario("walk_past", duration_s=4.0, sample_rate=FS, n_mics=1).replace(
        device=DeviceSpec(mic_noise_dbfs_hz=None, adc_bits=None, speaker_cutoff_hz=60000.0)
    )
    x = SimulatedSource(sc).read(4 * FS)[:, 0].astype(np.float64)
    seg = x[int(1.5 * FS) : int(3.5 * FS)]
    spec = np.abs(np.fft.rfft(seg * np.hanning(seg.size))) ** 2
    f = np.fft.rfftfreq(seg.size, 1 / FS) - F0
    band = (np.abs(f) > 10) & (np.abs(f) < 2500)
    power = spec[band]
    dist = np.abs(f[band])
    torso_hz = 2 * 1.3 * F0 / 343.0
    loud = dist[power > 1e-3 * power.max()]  # within 30 dB of the strongest bin
    assert loud.max() > 2.0 * torso_hz  # legs (micro-Doppler) reach far past the torso line
    assert loud.max() < 5.0 * torso_hz  # ...but not beyond ankle speed (Boulic ≈ 3.6 v)
