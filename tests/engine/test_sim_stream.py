"""Streaming behaviour of SimulatedSource: block-size independence, emission control,
end of scenario, determinism, AudioSource protocol."""

from __future__ import annotations

import numpy as np
import pytest

from uspd.audio.source import AudioSource, SourceError
from uspd.sim import SimulatedSource
from uspd.sim.library import build_scenario
from uspd.sim.render import chunk_frames

FS = 48000


def _read_in_blocks(src: SimulatedSource, sizes: list[int], switch_at: int | None) -> np.ndarray:
    out = []
    done = 0
    for n in sizes:
        if switch_at is not None and done <= switch_at < done + n:
            first = switch_at - done
            if first:
                out.append(src.read(first))
            src.set_emission(21000.0, -6.0)
            out.append(src.read(n - first))
        else:
            out.append(src.read(n))
        done += n
    return np.concatenate(out)


def test_blocks_of_any_size_equal_one_long_read() -> None:
    sc = build_scenario("music_walk_in", duration_s=4.0, sample_rate=FS, n_mics=2)
    total = 3 * FS
    switch_at = 100_003
    whole = _read_in_blocks(SimulatedSource(sc), [total], switch_at)
    rng = np.random.default_rng(1)
    sizes = [1, 7, 4096, chunk_frames(FS) + 1, 3]
    while sum(sizes) < total:
        sizes.append(int(rng.integers(1, 20000)))
    sizes[-1] -= sum(sizes) - total
    pieces = _read_in_blocks(SimulatedSource(sc), sizes, switch_at)
    assert pieces.shape == whole.shape == (total, 2)
    assert np.max(np.abs(pieces - whole)) <= 1e-9


def _carrier_level(x: np.ndarray, f: float) -> float:
    t = np.arange(x.shape[0]) / FS
    w = np.hanning(x.shape[0])
    return float(abs(np.sum(x[:, 0] * w * np.exp(-2j * np.pi * f * t))) * 2 / w.sum())


def test_set_emission_switches_carrier_and_silences() -> None:
    src = SimulatedSource(build_scenario("empty", duration_s=3.0, sample_rate=FS, n_mics=1))
    on = src.read(FS // 2)
    src.set_emission(None, -10.0)
    off = src.read(FS // 2)
    src.set_emission(19000.0, -10.0)
    moved = src.read(FS // 2)
    assert _carrier_level(on, 20000.0) > 1e-3
    assert _carrier_level(off[2000:], 20000.0) < 1e-3 * _carrier_level(on, 20000.0)
    assert _carrier_level(moved[2000:], 19000.0) > 1e-4
    assert _carrier_level(moved[2000:], 20000.0) < 1e-3 * _carrier_level(on, 20000.0)


def test_level_change_scales_the_carrier() -> None:
    src = SimulatedSource(build_scenario("empty", duration_s=3.0, sample_rate=FS, n_mics=1))
    a = src.read(FS // 2)
    src.set_emission(20000.0, -30.0)
    b = src.read(FS // 2)
    ratio_db = 20 * np.log10(_carrier_level(b[2000:], 2e4) / _carrier_level(a, 2e4))
    assert ratio_db == pytest.approx(-20.0, abs=0.2)


def test_end_of_scenario_and_close() -> None:
    src = SimulatedSource(build_scenario("empty", duration_s=0.5, sample_rate=FS, n_mics=1))
    assert isinstance(src, AudioSource)
    assert src.read(FS // 2).shape == (FS // 2, 1)
    with pytest.raises(SourceError):
        src.read(10)
    src.close()
    with pytest.raises(SourceError):
        src.read(10)


def test_looping_demo_room_keeps_going() -> None:
    sc = build_scenario("demo_room", duration_s=1.0, sample_rate=FS, n_mics=1)
    assert sc.loop
    src = SimulatedSource(sc)
    x = src.read(int(2.5 * FS))
    assert np.all(np.isfinite(x)) and x.dtype == np.float32
    assert src.truth_at(2.2).t == pytest.approx(2.2)


def test_seed_determines_everything() -> None:
    def render(seed: int) -> np.ndarray:
        sc = build_scenario("seated_typing", seed=seed, duration_s=1.0, sample_rate=FS, n_mics=2)
        return SimulatedSource(sc).read(FS)

    a, b, c = render(5), render(5), render(6)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_blocks_across_the_loop_wrap_with_every_interferer() -> None:
    sc = build_scenario("demo_room", duration_s=2.0, sample_rate=FS, n_mics=3)  # loops at 2 s
    total = int(3.2 * FS)
    whole = SimulatedSource(sc).read(total)
    src = SimulatedSource(sc)
    rng = np.random.default_rng(4)
    parts, done = [], 0
    while done < total:
        n = min(int(rng.integers(1, 30000)), total - done)
        parts.append(src.read(n))
        done += n
    assert np.array_equal(np.concatenate(parts), whole)


def test_duty_cycling_for_a_long_time_keeps_the_schedule_small() -> None:
    src = SimulatedSource(build_scenario("empty", duration_s=60.0, sample_rate=FS, n_mics=1))
    for i in range(200):
        src.read(4800)
        src.set_emission(None if i % 2 else 20000.0, -10.0)
    assert len(src.schedule.segments) < 20
    assert src.read(4800).shape == (4800, 1)
