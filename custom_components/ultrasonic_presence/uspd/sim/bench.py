"""Simulator speed: seconds of audio rendered per CPU second (used by `uspd bench`)."""

from __future__ import annotations

import time

from .fans import FloorFan
from .people import WalkingPerson
from .scenario import Scenario
from .source import SimulatedSource


def bench_scenario(sample_rate: int = 96000, n_mics: int = 4, duration_s: float = 10.0) -> Scenario:
    """The reference load: a person walking all the time and an oscillating floor fan."""
    loop = ((4.6, 3.2), (2.0, 2.2), (1.5, 0.8), (4.6, 0.6))  # ≈9.7 m per lap
    laps = int(duration_s * 1.3 / 9.7) + 2
    walker = WalkingPerson(path=loop * laps, speed_mps=1.3, start_s=0.0)
    return Scenario(
        sample_rate=sample_rate,
        carrier_hz=40000.0 if sample_rate >= 96000 else 20000.0,
        n_mics=n_mics,
        duration_s=duration_s,
        seed=7,
        actors=(walker, FloorFan(position=(3.0, 3.0))),
        name="bench",
    )


def realtime_factor(
    sample_rate: int = 96000,
    n_mics: int = 4,
    seconds: float = 10.0,
    block_frames: int = 4800,
    scenario: Scenario | None = None,
) -> float:
    """Rendered audio seconds per process-CPU second (all threads counted, so it is a
    one-core figure only with single-threaded BLAS, e.g. OPENBLAS_NUM_THREADS=1)."""
    sc = scenario or bench_scenario(sample_rate, n_mics, seconds)
    src = SimulatedSource(sc.replace(duration_s=max(sc.duration_s, seconds)))
    frames = int(seconds * sc.sample_rate)
    start = time.process_time()
    done = 0
    while done < frames:
        n = min(block_frames, frames - done)
        src.read(n)
        done += n
    used = max(time.process_time() - start, 1e-9)
    return seconds / used
