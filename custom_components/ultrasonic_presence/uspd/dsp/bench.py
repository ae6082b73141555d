"""DSP measurements: compute speed (for `uspd bench`) and the music canceller's curve."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np

from . import testsignals as ts
from .chain import DspChain
from .features import FeatureFrames

# The canceller curve ignores the first frames (clutter filter and steering settling).
SKIP_S = 1.5


def realtime_factor(
    sample_rate: int = 96_000,
    channels: int = 4,
    carrier_hz: float = 40_000.0,
    seconds: float = 10.0,
    block_s: float = 0.05,
) -> float:
    """Seconds of audio the full DSP chain (front-end, features, canceller) processes per
    second of wall time, fed in `block_s` blocks as a live source would deliver them."""
    rng = np.random.default_rng(0)
    n = round(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    carrier = 0.1 * np.cos(2.0 * math.pi * carrier_hz * t)
    audio = (carrier[:, None] + 1e-4 * rng.standard_normal((n, channels))).astype(np.float32)
    chain = DspChain(sample_rate, carrier_hz, channels)
    block = max(1, round(block_s * sample_rate))
    start = time.process_time()
    for i in range(0, n, block):
        chain.process(audio[i : i + block])
    return seconds / (time.process_time() - start)


@dataclass(frozen=True)
class CancellerPoint:
    """One music distortion level: how much is removed and how much motion survives."""

    mics: int
    modulation: float
    distortion_dbc: float  # Doppler-band sideband power before cancelling, dBc
    reduction_db: float  # sideband power removed (noise floor subtracted)
    walk_retained_db: float  # walking energy in that music vs. walking without music
    music_flagged: float  # fraction of frames flagged "music"


def band_energy(frames: FeatureFrames, skip_frames: int) -> float:
    """Mean Doppler-band power (linear, re carrier) over the settled frames."""
    return float(np.mean(10.0 ** (frames.residual_level_db[skip_frames:] / 10.0)))


def canceller_curve(
    mics: int,
    modulations: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1),
    *,
    sample_rate: int = 48_000,
    carrier_hz: float = 20_000.0,
    seconds: float = 4.0,
) -> list[CancellerPoint]:
    """Sideband reduction and walking retention versus bass distortion level.

    Music modulates the carrier with AM index and FM deviation (rad) both = `modulation`;
    the walker oscillates between 1.4 and 2.6 m (2 m on average) in that music.
    """
    base = ts.Scene(mics=mics, carrier_hz=carrier_hz)
    walker = ts.Walker()

    def energies(scene: ts.Scene) -> tuple[float, float, FeatureFrames]:
        audio = ts.render(scene, seconds, sample_rate)
        results = []
        for cancel in (False, True):
            chain = DspChain(sample_rate, carrier_hz, mics, cancel_distortion=cancel)
            results.append(chain.process(audio))
        skip = round(SKIP_S / results[0].features.shape[0] * 0 + SKIP_S / 0.05)
        return band_energy(results[0], skip), band_energy(results[1], skip), results[1]

    noise_off, noise_on, _ = energies(base)
    walk_off, _, _ = energies(replace(base, walker=walker))
    walk_alone = walk_off - noise_off
    points = []
    for m in modulations:
        music_off, music_on, music_frames = energies(replace(base, music=(m, m)))
        _, both_on, _ = energies(replace(base, music=(m, m), walker=walker))
        sidebands = music_off - noise_off
        left = max(music_on - noise_on, 1e-6 * sidebands)
        points.append(
            CancellerPoint(
                mics=mics,
                modulation=m,
                distortion_dbc=10.0 * math.log10(sidebands),
                reduction_db=10.0 * math.log10(sidebands / left),
                walk_retained_db=10.0 * math.log10(max(both_on - music_on, 1e-30) / walk_alone),
                music_flagged=float(np.mean(music_frames.music[round(SKIP_S / 0.05) :])),
            )
        )
    return points
