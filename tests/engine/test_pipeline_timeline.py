"""Decision times: a decision is stamped with the end of the audio it has heard.

Latency in `uspd bench` and event times in `uspd analyze` are these stamps, so a stamp
later than the audio would overstate latency and place events late; one earlier
would claim to know the future.
"""

from __future__ import annotations

import numpy as np
import pytest

from uspd.dsp.features import FRAME_HOP_S, PLANE_MOTION
from uspd.pipeline import Pipeline
from uspd.scoring import ConventionalScorer

RATE = 96_000
CARRIER_HZ = 35_500.0
ONSET_S = 1.01
"""Between two hops, clear of the 2.75 ms decimation filter's reach."""


def _carrier_then_echo(seconds: float) -> np.ndarray:
    """4 mics: a steady carrier; from ONSET_S a reflection 100 Hz above it (a walker's
    Doppler), with its own phase at each mic so it is no speaker-borne sound."""
    rng = np.random.default_rng(7)
    t = np.arange(round(seconds * RATE)) / RATE
    carrier = 0.1 * np.cos(2 * np.pi * CARRIER_HZ * t)
    phases = rng.uniform(0, 2 * np.pi, 4)
    echo = 3e-3 * np.cos(2 * np.pi * (CARRIER_HZ + 100.0) * t[:, None] + phases)
    echo[t < ONSET_S] = 0.0
    noise = 1e-6 * rng.standard_normal((t.size, 4))
    return (carrier[:, None] + echo + noise).astype(np.float32)


def test_a_decision_is_stamped_with_the_end_of_the_audio_it_heard() -> None:
    audio = _carrier_then_echo(2.0)
    pipeline = Pipeline(RATE, 4, CARRIER_HZ, scorer=ConventionalScorer())
    stamps, energy = [], []
    block = round(FRAME_HOP_S * RATE)
    for s in range(0, audio.shape[0], block):
        frames = pipeline.chain.process(audio[s : s + block])
        stamps += [r.decision.t for r in pipeline.decide(frames)]
        energy += frames.features[:, :, PLANE_MOTION].max(axis=1).tolist()
    level = np.array(energy)
    quiet = np.median(level[(np.array(stamps) > 0.5) & (np.array(stamps) < 0.9)])
    first = stamps[int(np.argmax(level > quiet + 10.0))]
    # The first frame that hears the echo is the first whose audio reaches past it.
    assert first == min(t for t in stamps if t > ONSET_S)
    assert stamps[0] == FRAME_HOP_S  # one hop of stream heard


@pytest.mark.parametrize("runtime", ["numpy", "litert"])
def test_a_blocks_frames_scored_at_once_decide_as_one_by_one(runtime: str) -> None:
    """The runner scores a block's frames in one call, the benchmark a whole cached scene:
    the same probabilities and decisions as frame by frame, on either runtime."""
    from uspd.model import litert_available
    from uspd.scoring import ModelScorer
    from uspd.sim.library import build_scenario
    from uspd.sim.source import SimulatedSource

    if runtime == "litert" and not litert_available():
        pytest.skip("LiteRT is not importable here (no wheel for this platform)")
    sc = build_scenario("walk_past", seed=2, sample_rate=48_000, n_mics=2)
    source = SimulatedSource(sc)
    source.set_emission(sc.carrier_hz, sc.level_dbfs)
    audio = source.read(round(8.0 * 48_000))
    frames = Pipeline(48_000, 2, sc.carrier_hz).chain.process(audio)

    def decided(parts: list[range]) -> list[tuple[float, bool, list[float] | None]]:
        pipeline = Pipeline(48_000, 2, sc.carrier_hz, scorer=ModelScorer(prefer=runtime))
        out = []
        for part in parts:
            for r in pipeline.decide(frames.part(part.start, part.stop)):
                p = None if r.probabilities is None else r.probabilities.tolist()
                out.append((r.decision.t, r.decision.occupied, p))
        return out

    n = frames.features.shape[0]
    at_once = decided([range(n)])
    assert any(occupied for _, occupied, _ in at_once)  # the walker is found
    assert at_once == decided([range(i, i + 1) for i in range(n)])
    assert at_once == decided([range(i, min(n, i + 3)) for i in range(0, n, 3)])
