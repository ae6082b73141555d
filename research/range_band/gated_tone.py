"""What gating the tone costs the shipped pipeline, as one constant-envelope emission would.

Not the engine and not shipped (docs/bench/HISTORY.md, "a gated tone"). A sweep band
played beside the tone through one speaker makes audible difference products
(audibility.py); one constant-envelope signal that leaves the tone for each sweep makes
none, but then the tone is off while the sweeps play. This measures what that gate does
to the shipped DSP and model on the development suite, unretrained: the scenes are
rendered with the tone gated (the gate is an emitted envelope, as the simulator's music
modulation is: every path carries it with its own delay), and the DSP is told only the
gate's period and duty — a periodic-clutter remover before the features takes out what
repeats every period (the direct path and the room's echoes, gated) and hands the
features the rest on a constant carrier, so their "x/c − 1" notch and the music
canceller see what they were built for.

    .venv/bin/python research/range_band/gated_tone.py --gaps 0:0.007 --scale 5 out.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sweep_render import Sweeps

from uspd import bench
from uspd.benchcache import SceneCache
from uspd.dsp.chain import DspChain
from uspd.dsp.features import FeatureFrames
from uspd.scoring import load_default_scorer
from uspd.sim.music import MusicModel
from uspd.sim.scenario import Scenario
from uspd.sim.source import SimulatedSource

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]

PERIOD_S = 0.04
RAMP_S = 0.0005
"""How long the tone takes to leave its band and come back: the frequency glides away
over 1 ms and is out of the tone's ±1.5 kHz band in about half of it."""
MEMORY_PERIODS = 5
"""The periodic-clutter remover's memory (0.2 s, the features' window): a moving echo
averages out over it (the features start at 4–12 Hz of Doppler), and the room's echoes
change no faster than the features' own notch follows. (1 s was tried: someone sitting
still for a minute and leaving then took 2.3 s longer to clear.)"""


@dataclass(frozen=True)
class Gate:
    """The tone off during `gaps` (start, length, within one PERIOD_S) of each period, with
    RAMP_S edges: the complement of what takes its place (one constant envelope)."""

    gaps: tuple[tuple[float, float], ...]

    def __call__(self, t: FloatArray) -> FloatArray:
        """The tone's amplitude (0..1) at times t."""
        gaps = tuple((length, start) for start, length in self.gaps)
        return np.asarray(1.0 - np.abs(Sweeps(gaps, PERIOD_S, ramp_s=RAMP_S).envelope(t)))

    @property
    def duty(self) -> float:
        """Mean square of the gate: the tone's energy kept."""
        t = np.arange(4000) * PERIOD_S / 4000
        return float(np.mean(self(t) ** 2))


class GateModel(MusicModel):
    """The gate as an emitted envelope: the renderer applies a music model's envelope to
    the direct path, the room's echoes and every scatterer's paths with their delays."""

    def __init__(self, gate: Gate) -> None:  # no Music spec: nothing audible, no cone
        self.gate = gate

    def active(self, t: FloatArray) -> FloatArray:
        """Always on (a zero would skip the envelope)."""
        return np.ones(np.shape(t))

    def envelope(self, t: FloatArray, k0: float) -> ComplexArray:
        """The tone's amplitude; no phase (the cone does not move)."""
        return np.asarray(self.gate(t), dtype=np.complex128)

    def audible(self, k: npt.NDArray[np.int64], fs_int: float) -> FloatArray:
        """Nothing in the audible band."""
        return np.zeros(np.shape(k))


class PeriodicClutterRemover:
    """Subtracts from each mic's baseband what repeats every period (its running mean per
    phase of the period over MEMORY_PERIODS) and puts the rest on a constant carrier: the
    mean carrier while the tone is on. Static paths are gated, so they repeat; echoes of
    anything moving do not."""

    def __init__(
        self, rate: float, channels: int, duty: float, memory: int = MEMORY_PERIODS
    ) -> None:
        self.memory = memory
        self.period = round(PERIOD_S * rate)
        if not math.isclose(self.period, PERIOD_S * rate):
            raise ValueError(f"the period is not a whole number of samples at {rate} Hz")
        self.duty = duty
        self.mean = np.zeros((channels, self.period), np.complex128)
        self.seen = 0  # periods averaged so far (the first ones weigh in fully)
        self.phase = 0  # where in the period the next sample falls

    def process(self, x: ComplexArray) -> ComplexArray:
        """(mics, n) baseband → (mics, n) residual on the carrier (sample for sample),
        a stretch within one pass of the period at a time."""
        out = np.empty_like(x)
        i = 0
        while i < x.shape[1]:
            p = self.phase
            n = min(self.period - p, x.shape[1] - i)
            weight = 1.0 / min(self.seen + 1, self.memory)
            mean = self.mean[:, p : p + n]
            mean += weight * (x[:, i : i + n] - mean)
            level = np.sqrt(np.mean(np.abs(self.mean) ** 2, axis=1) / self.duty)
            carrier = level * np.exp(1j * np.angle(self.mean.sum(axis=1)))
            out[:, i : i + n] = x[:, i : i + n] - mean + carrier[:, None]
            self.phase = (p + n) % self.period
            if self.phase == 0:
                self.seen += 1
            i += n
        return out


class _GatedChain(DspChain):
    """The production chain with the remover between the front end and the features."""

    def __init__(
        self, sample_rate: int, carrier_hz: float, channels: int, gate: Gate, memory: int
    ) -> None:
        super().__init__(sample_rate, carrier_hz, channels, cancel_rotor=False)
        self.remover = PeriodicClutterRemover(
            self.frontend.output_rate, channels, gate.duty, memory
        )

    def process(self, block: npt.ArrayLike) -> FeatureFrames:
        baseband = self.frontend.process_planar(np.asarray(block))
        return self.features.process_planar(self.remover.process(baseband))


@contextlib.contextmanager
def _swapped(name: str, value: object) -> Iterator[None]:
    """`uspd.bench.<name>` replaced by `value` for the duration."""
    kept = getattr(bench, name)
    setattr(bench, name, value)
    try:
        yield
    finally:
        setattr(bench, name, kept)


@contextlib.contextmanager
def gated(gate: Gate | None, remover: bool, memory: int = MEMORY_PERIODS) -> Iterator[None]:
    """bench's own render and featurise steps, with the tone gated (None: not) and the
    remover before the features; calibration (which renders too) is left as it is."""
    render, features = bench._render, bench._features

    class _GatedSource(SimulatedSource):
        def __init__(self, scenario: Scenario) -> None:
            super().__init__(scenario)
            if gate is not None:
                self.renderer.music.append(GateModel(gate))

    def _chain(
        sample_rate: int, carrier_hz: float, channels: int, *, cancel_rotor: bool = False
    ) -> DspChain:
        if cancel_rotor:
            raise ValueError("the gated tone is studied without the rotor canceller")
        return _GatedChain(sample_rate, carrier_hz, channels, gate or Gate(()), memory)

    def _render(scene: bench.BenchScene) -> tuple[npt.NDArray[np.float32], list[Any]]:
        with _swapped("SimulatedSource", _GatedSource):
            return render(scene)

    def _features(
        scene: bench.BenchScene, audio: npt.NDArray[np.float32], *, cancel_rotor: bool = False
    ) -> tuple[DspChain, list[FeatureFrames]]:
        with _swapped("DspChain", _chain):
            return features(scene, audio, cancel_rotor=cancel_rotor)

    with _swapped("_render", _render), _swapped("_features", _features if remover else features):
        yield


class CalibrationsOnly(SceneCache):
    """uspd bench's cache for calibrations (the gate does not change them), never for a
    scene's evidence (rendered here with the gate)."""

    def evidence(self, scenario: Scenario, variant: str = "") -> None:
        """Never cached."""
        return None

    def store_evidence(self, scenario: Scenario, evidence: object, variant: str = "") -> None:
        """Never stored."""


def main() -> None:
    """Run the development suite's walk/seated (and empty) scenes gated, as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument(
        "--gaps", default="", help="start:length,... in s within each 40 ms ('' = ungated)"
    )
    parser.add_argument("--no-remover", action="store_true", help="the DSP as shipped")
    parser.add_argument("--memory", type=int, default=MEMORY_PERIODS, help="remover's periods")
    parser.add_argument("--scale", type=float, default=5.0)
    parser.add_argument("--group", action="append", choices=("empty", "walk", "seated"))
    parser.add_argument("--kind", action="append", help="only these scene kinds")
    parser.add_argument("--cache", type=Path, help="uspd bench's cache, for calibrations only")
    args = parser.parse_args()
    gaps = tuple((float(a), float(b)) for a, b in (g.split(":") for g in args.gaps.split(",") if g))
    gate = Gate(gaps) if gaps else None
    if args.kind:
        build = bench.build_suite

        def only(*a: Any, **k: Any) -> list[bench.BenchScene]:
            return [s for s in build(*a, **k) if s.kind in args.kind]

        bench.build_suite = only
    with gated(gate, not args.no_remover, args.memory):
        report = bench.run_suite(
            args.scale,
            {"pipeline": load_default_scorer},
            lambda line: print(line, file=sys.stderr, flush=True),
            det=False,
            groups=frozenset(args.group or ("walk", "seated")),
            seed_base=bench.DEV_SEED_BASE,
            cache=CalibrationsOnly(args.cache) if args.cache else None,
            cancel_rotor=False,  # the study predates the rotor canceller
        )
    summary = {
        "gaps": gaps,
        "duty": gate.duty if gate else 1.0,
        "remover": not args.no_remover,
        "memory": args.memory,
        "report": report.scorers,
        "suite": report.suite,
    }
    args.out.write_text(json.dumps(summary, default=str))
    for line in bench.table(report):
        print(line)


if __name__ == "__main__":
    main()
