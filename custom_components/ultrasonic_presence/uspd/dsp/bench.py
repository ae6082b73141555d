"""DSP measurements: compute speed (for `uspd bench`) and the music canceller's curve."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .chain import DspChain
from .features import FRAME_HOP_S, FeatureFrames

# The canceller curve ignores the first frames (start-up and steering settling).
SKIP_S = 3.0


def realtime_factor(
    sample_rate: int = 96_000,
    channels: int = 4,
    carrier_hz: float = 40_000.0,
    *,
    seconds: float = 5.0,
    block_s: float = 1.0,
    repeats: int = 3,
) -> float:
    """Seconds of audio the DSP chain (front-end, features, canceller) processes per
    second of this process's CPU time (one core: BLAS products stay single-threaded).

    Best of `repeats` runs (as `timeit` advises: other load only ever slows a run down).
    Fed in `block_s` blocks: 1 s like `uspd analyze`; a live 50 ms block adds numpy
    per-call overhead (about half the speed) but is still ≈1 % of a core at real time.
    """
    rng = np.random.default_rng(0)
    n = round(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    carrier = 0.1 * np.cos(2.0 * math.pi * carrier_hz * t)
    audio = (carrier[:, None] + 1e-4 * rng.standard_normal((n, channels))).astype(np.float32)
    block = max(1, round(block_s * sample_rate))
    best = math.inf
    for _ in range(max(1, repeats)):
        chain = DspChain(sample_rate, carrier_hz, channels)
        start = time.process_time()
        for i in range(0, n, block):
            chain.process(audio[i : i + block])
        best = min(best, time.process_time() - start)
    return seconds / max(best, 1e-9)


def rotor_cost_ms(
    *,
    rate: float = 4000.0,
    channels: int = 4,
    seconds: float = 10.0,
    block_s: float = 0.2,
    repeats: int = 3,
) -> dict[str, float]:
    """Process CPU ms per audio second the rotor canceller (dsp.rotor) adds, fed blocks of
    `block_s` (the live runner's) of 4 kHz baseband: in a quiet room (only its tracker
    runs) and with a 21 ms blade-pass fan tracked (tracker and predictor). Best of
    `repeats`."""
    from .rotor import RotorCanceller
    from .testsignals import rotor_echo

    n = round(seconds * rate)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((channels, n)) + 1j * rng.standard_normal((channels, n))
    quiet: npt.NDArray[np.complex128] = (0.5 + 1e-4 * noise).astype(np.complex128)
    fan = quiet + 0.5 * rotor_echo(n, rate, 0.021, channels, 1, sway_hz=5.0)
    hop = max(1, round(block_s * rate))
    figures = {}
    for name, baseband in (("quiet", quiet), ("fan", fan)):
        best = math.inf
        for _ in range(max(1, repeats)):
            canceller = RotorCanceller(rate, 40_000.0, channels)
            start = time.process_time()
            for i in range(0, n, hop):
                canceller.process(baseband[:, i : i + hop])
            best = min(best, time.process_time() - start)
        figures[name] = 1e3 * best / seconds
    return figures


@dataclass(frozen=True)
class CancellerPoint:
    """One music distortion level: how much is removed and how much motion survives."""

    mics: int
    excursion_mm: float
    distortion_dbc: float  # Doppler-band sideband power before cancelling, dBc
    reduction_db: float  # sideband power removed (noise floor subtracted)
    walk_retained_db: float  # walking energy in that music vs. walking without music
    music_flagged: float  # fraction of frames flagged "music"


def band_energy(frames: FeatureFrames, skip_frames: int) -> float:
    """Mean Doppler-band power (linear, re carrier) over the settled frames."""
    return float(np.mean(10.0 ** (frames.residual_level_db[skip_frames:] / 10.0)))


def canceller_curve(
    mics: int,
    excursions_mm: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0),
    *,
    genre: str = "edm",
    sample_rate: int = 48_000,
    carrier_hz: float = 20_000.0,
    seconds: float = 8.0,
    seed: int = 1,
) -> list[CancellerPoint]:
    """Sideband reduction and walking retention versus bass distortion (uspd.sim scenes).

    Music from the device speaker with the given peak cone excursion; a person walks
    from 3 s on, between ≈3 m and ≈1.8 m from the device (≈2 m on average), in that music.
    Energies are means over the frames after SKIP_S; the noise-only scene is subtracted.
    """
    from ..sim import DeviceSpec, Music, Scenario, SimulatedSource, WalkingPerson

    walker = WalkingPerson(path=((3.0, 0.8), (1.6, 3.2), (3.0, 0.8)), start_s=3.0, leaves=False)
    base = Scenario(
        sample_rate=sample_rate,
        carrier_hz=carrier_hz,
        n_mics=mics,
        duration_s=seconds,
        seed=seed,
        device=DeviceSpec(hw_seed=seed),
    )
    skip = round(SKIP_S / FRAME_HOP_S)

    def energies(actors: tuple[object, ...]) -> tuple[float, float, FeatureFrames]:
        scene = base.replace(actors=actors)
        audio = SimulatedSource(scene).read(round(seconds * sample_rate))
        off = DspChain(sample_rate, carrier_hz, mics, cancel_distortion=False).process(audio)
        on = DspChain(sample_rate, carrier_hz, mics).process(audio)
        return band_energy(off, skip), band_energy(on, skip), on

    noise_off, noise_on, _ = energies(())
    walk_off, _, _ = energies((walker,))
    walk_alone = walk_off - noise_off
    points = []
    for excursion in excursions_mm:
        music = Music(genre=genre, excursion_mm=excursion)
        music_off, music_on, frames = energies((music,))
        _, both_on, _ = energies((music, walker))
        sidebands = music_off - noise_off
        left = max(music_on - noise_on, 1e-6 * sidebands)
        points.append(
            CancellerPoint(
                mics=mics,
                excursion_mm=excursion,
                distortion_dbc=10.0 * math.log10(sidebands),
                reduction_db=10.0 * math.log10(sidebands / left),
                walk_retained_db=10.0 * math.log10(max(both_on - music_on, 1e-30) / walk_alone),
                music_flagged=float(np.mean(frames.music[skip:])),
            )
        )
    return points
