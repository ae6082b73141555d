"""`uspd simulate`: render a named scenario to a WAV file plus JSON ground truth."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..cli import UserError


def register(sub: Any) -> None:
    """Add the `simulate` parser."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "simulate", help="render a simulated room to WAV + JSON ground truth"
    )
    parser.add_argument("--scenario", default="walk_in", help="scenario name (see --list)")
    parser.add_argument("--list", action="store_true", help="list scenario names and exit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--duration", type=float, default=None, help="seconds")
    parser.add_argument("--rate", type=int, default=96000, help="sample rate (Hz)")
    parser.add_argument("--mics", type=int, default=4, help="microphones 1..8")
    parser.add_argument("--carrier", type=float, default=None, help="carrier (Hz)")
    parser.add_argument("--bits", type=int, choices=(16, 24), default=24)
    parser.add_argument("--out", type=Path, help="output WAV (FILE.json gets the truth)")
    parser.set_defaults(func=run)


def write_wav(path: Path, data: Any, sample_rate: int, bits: int) -> None:
    """16- or 24-bit PCM via the stdlib `wave` module (scipy writes no 24-bit)."""
    import wave

    import numpy as np

    scale = 2 ** (bits - 1)
    ints = np.clip(np.round(np.asarray(data, dtype=np.float64) * scale), -scale, scale - 1)
    ints = ints.astype("<i4")
    if bits == 16:
        raw = ints.astype("<i2").tobytes()
    else:
        raw = ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(int(data.shape[1]))
        wav.setsampwidth(bits // 8)
        wav.setframerate(sample_rate)
        wav.writeframes(raw)


def run(args: argparse.Namespace) -> int:
    """Render and write."""
    from ..sim.library import SCENARIOS, build_scenario
    from ..sim.source import SimulatedSource

    if args.list:
        for name, fn in SCENARIOS.items():
            print(f"{name:15s} {(fn.__doc__ or '').strip().splitlines()[0]}")
        return 0
    if args.out is None:
        raise UserError("--out FILE.wav is required")
    if not 1 <= args.mics <= 8:
        raise UserError("--mics must be 1..8")
    try:
        scenario = build_scenario(
            args.scenario,
            seed=args.seed,
            duration_s=args.duration,
            sample_rate=args.rate,
            n_mics=args.mics,
            carrier_hz=args.carrier,
        )
    except KeyError as err:
        raise UserError(str(err.args[0])) from err
    except ValueError as err:
        raise UserError(str(err)) from err
    src = SimulatedSource(scenario)
    duration = args.duration if args.duration is not None else scenario.duration_s
    frames = round(duration * scenario.sample_rate)
    import numpy as np

    blocks = []
    step = scenario.sample_rate
    for start in range(0, frames, step):
        blocks.append(src.read(min(step, frames - start)))
    data = np.concatenate(blocks) if blocks else np.zeros((0, scenario.n_mics), np.float32)
    out: Path = args.out
    write_wav(out, data, scenario.sample_rate, args.bits)
    truth = {
        "scenario": scenario.summary(),
        "frame_s": 0.05,
        "frames": [f.to_json() for f in src.truth_frames(0.0, duration)],
    }
    out.with_suffix(".json").write_text(json.dumps(truth, indent=1, default=str))
    print(f"wrote {out} ({duration:.1f} s, {scenario.n_mics} ch, {scenario.sample_rate} Hz)")
    return 0
