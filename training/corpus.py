"""Labelled feature corpora from the scene simulator, through the production DSP chain.

Why this shape: the classifier must see exactly what `uspd.pipeline` feeds it, so every
scene is rendered by `SimulatedSource` and featurised by `DspChain` (same code, same
constants); the simulator's ground truth is the labeller. Each scene is cached as one
.npz under training/corpus/<split>/ (ignored by git) holding per-frame dB features,
per-frame labels and flags, so windows are cut at training time and the cache is
reused across runs. Rendering is deterministic from (kind, seed, config).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

# Classifier classes (uspd.model.CLASS_NAMES order).
NONE, MAJOR, MINOR, NON_HUMAN = 0, 1, 2, 3
# Interferers that move something in the Doppler band (or fake it).
DOPPLER_INTERFERERS = frozenset(
    {"floor_fan", "ceiling_fan", "curtain", "hvac", "music", "pet", "tone", "jingle", "door",
     "speech"}
)  # fmt: skip
# Label look-back in frames: the STFT window (0.2 s) spans the last 4 hops.
LABEL_FRAMES = 4
# A human label counts only where the person shows in the features: some velocity bin of
# the motion plane at least this far above that bin's 90th percentile over the same
# scene's frames with nobody present (same device, noise floor and interferers). The
# empty frames' own excess is 2.5-4 dB at that percentile (max over 64 bins), so 6 dB
# is clear of noise.
VISIBLE_EXCESS_DB = 6.0
# Empty frames a scene needs for that baseline (2 s); with fewer (a person present from
# the start) its labels are kept as they are.
BASELINE_MIN_FRAMES = 40
# Device configurations drawn per scene: (sample_rate, n_mics).
DEVICE_CONFIGS: tuple[tuple[int, int], ...] = ((96000, 4), (96000, 2), (48000, 2), (48000, 1))

CORPUS_VERSION = 1
# Engine sources whose behaviour shapes the features (not benches/calibration/CLI).
_NOT_FEATURE_SOURCES = {"bench.py", "calibration.py", "conventional.py", "testsignals.py"}


def source_fingerprint() -> str:
    """sha256 (16 hex) of the uspd/dsp and uspd/sim sources that make the features.

    Part of every cached scene's key: change the simulator or the DSP and the corpus is
    rendered again instead of silently training on stale features.
    """
    root = Path(__file__).resolve().parents[1] / "custom_components/ultrasonic_presence/uspd"
    digest = hashlib.sha256()
    for f in sorted([*root.glob("dsp/*.py"), *root.glob("sim/*.py")]):
        if f.name not in _NOT_FEATURE_SOURCES:
            digest.update(f"{f.parent.name}/{f.name}".encode() + f.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class SceneSpec:
    """One scene to render: kind for random_scenario, seed, device config, length."""

    kind: str
    seed: int
    duration_s: float
    sample_rate: int
    n_mics: int

    def key(self, fingerprint: str) -> str:
        """File stem: stable across runs, new when the spec or the engine sources change."""
        raw = json.dumps({**asdict(self), "v": CORPUS_VERSION, "src": fingerprint}, sort_keys=True)
        digest = hashlib.sha1(raw.encode()).hexdigest()[:10]
        return f"{self.kind}-{self.seed}-{digest}"


def make_specs(
    kinds: Sequence[str], weights: Sequence[float], n: int, seed0: int, duration_s: float
) -> list[SceneSpec]:
    """n scene specs with kinds drawn by weight; seeds seed0, seed0+1, ... (disjoint sets)."""
    rng = np.random.default_rng(seed0)
    p = np.asarray(weights, dtype=np.float64)
    p /= p.sum()
    out = []
    for i in range(n):
        kind = str(rng.choice(list(kinds), p=p))
        sr, mics = DEVICE_CONFIGS[int(rng.integers(len(DEVICE_CONFIGS)))]
        out.append(SceneSpec(kind, seed0 + i, duration_s, sr, mics))
    return out


def frame_labels(
    motion: Sequence[str], interferers: Sequence[Iterable[str]]
) -> npt.NDArray[np.int8]:
    """Per-frame class from truth, looking back LABEL_FRAMES frames (the STFT span)."""
    n = len(motion)
    rank = {"none": 0, "still": 1, "minor": 2, "major": 3}
    m = np.array([rank[x] for x in motion], dtype=np.int8)
    noisy = np.array([bool(DOPPLER_INTERFERERS & set(i)) for i in interferers], dtype=bool)
    labels = np.empty(n, dtype=np.int8)
    for i in range(n):
        lo = max(0, i - LABEL_FRAMES + 1)
        strongest = int(m[lo : i + 1].max())
        if strongest == 3:
            labels[i] = MAJOR
        elif strongest == 2:
            labels[i] = MINOR
        elif noisy[lo : i + 1].any():
            labels[i] = NON_HUMAN
        else:
            labels[i] = NONE
    return labels


def scenario_of(spec: SceneSpec) -> Any:
    """The simulator's scene for a spec (deterministic from kind, seed and device)."""
    from uspd.sim.library import random_scenario

    return random_scenario(
        spec.kind,
        spec.seed,
        duration_s=spec.duration_s,
        sample_rate=spec.sample_rate,
        n_mics=spec.n_mics,
    )


def render_scene(spec: SceneSpec, scenario: Any = None) -> dict[str, Any]:
    """Render one scene through the DSP chain; per-frame features, labels and flags
    (`scenario`: an edited `scenario_of(spec)`, e.g. without its walker)."""
    from uspd.dsp.chain import DspChain
    from uspd.sim.source import SimulatedSource

    scenario = scenario if scenario is not None else scenario_of(spec)
    source = SimulatedSource(scenario)
    # Without the fan-rotor canceller (on in the product since 2026-12-07): the shipped
    # model learnt from features without it, and this keeps its recipe. A corpus with it
    # is a new recipe, to be judged as one (docs/bench/HISTORY.md, "twentieth").
    chain = DspChain(scenario.sample_rate, scenario.carrier_hz, scenario.n_mics, cancel_rotor=False)
    block = scenario.sample_rate // 4
    n_blocks = int(spec.duration_s * 4)
    feats, ok = [], []
    for _ in range(n_blocks):
        frames = chain.process(source.read(block))
        feats.append(frames.features)
        ok.append(frames.carrier_ok)
    features = np.concatenate(feats).astype(np.float16)
    n = features.shape[0]
    hop = chain.frame_hop_s
    # Feature frame i is complete at (i + 1)·hop; truth frames are 50 ms from t = 0.
    truth = source.truth_frames(0.0, n * hop)
    truth = truth[:n]
    motion = [f.motion for f in truth]
    inter = [f.interferers for f in truth]
    return {
        "features": features,
        "labels": frame_labels(motion, inter),
        "present": np.array([f.present for f in truth], dtype=bool),
        "pet": np.array([f.pet for f in truth], dtype=bool),
        "carrier_ok": np.concatenate(ok).astype(bool),
        "kind": spec.kind,
        "seed": spec.seed,
        "carrier_hz": float(scenario.carrier_hz),
        "interferers": sorted({x for i in inter for x in i}),
        "hop_s": float(hop),
    }


def _render_to(args: tuple[SceneSpec, Path, Callable[[SceneSpec], dict[str, Any]]]) -> str:
    spec, path, render = args
    if path.exists():
        return "cached"
    save_scene(path, render(spec))
    return "rendered"


def save_scene(path: Path, data: dict[str, Any]) -> None:
    """Write a rendered scene as the .npz `load` reads (atomically: tmp, then rename)."""
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp,
        features=data["features"],
        labels=data["labels"],
        present=data["present"],
        pet=data["pet"],
        carrier_ok=data["carrier_ok"],
        meta=np.array(
            json.dumps({k: data[k] for k in ("kind", "seed", "carrier_hz", "interferers", "hop_s")})
        ),
    )
    tmp.rename(path)


def build(
    specs: Sequence[SceneSpec],
    directory: Path,
    processes: int = 2,
    render: Callable[[SceneSpec], dict[str, Any]] = render_scene,
) -> list[Path]:
    """Render every spec not yet cached (≤ `processes` workers); return the file paths.
    `render`: a module-level function (workers import it), e.g. a scene without its walker."""
    directory.mkdir(parents=True, exist_ok=True)
    fingerprint = source_fingerprint()
    jobs = [(s, directory / f"{s.key(fingerprint)}.npz", render) for s in specs]
    todo = [j for j in jobs if not j[1].exists()]
    t0 = time.monotonic()
    if todo:
        print(f"  rendering {len(todo)}/{len(jobs)} scenes into {directory} ...", flush=True)
        if processes > 1:
            ctx = mp.get_context("spawn")
            with ctx.Pool(processes) as pool:
                for k, _ in enumerate(pool.imap_unordered(_render_to, todo, chunksize=2), 1):
                    if k % 50 == 0:
                        print(f"    {k}/{len(todo)} ({time.monotonic() - t0:.0f} s)", flush=True)
        else:
            for job in todo:
                _render_to(job)
    print(f"  {directory.name}: {len(jobs)} scenes ready ({time.monotonic() - t0:.0f} s)")
    return [j[1] for j in jobs]


@dataclass
class Scene:
    """A cached scene loaded for windowing."""

    features: npt.NDArray[np.float16]
    labels: npt.NDArray[np.int8]
    present: npt.NDArray[np.bool_]
    carrier_ok: npt.NDArray[np.bool_]
    meta: dict[str, Any]


def load(paths: Sequence[Path]) -> list[Scene]:
    """Load cached scenes."""
    out = []
    for p in paths:
        with np.load(p) as z:
            out.append(
                Scene(
                    features=z["features"],
                    labels=z["labels"],
                    present=z["present"],
                    carrier_ok=z["carrier_ok"],
                    meta=json.loads(str(z["meta"])),
                )
            )
    return out


def digest(scenes: Sequence[Scene]) -> str:
    """sha256 (16 hex) of a corpus's arrays (features, labels, flags), in order.

    Why: numpy and OpenBLAS pick their kernels by CPU, and the last bits of the rendered
    features with them (training.train.NUMPY_DISABLED_FEATURES). Two machines that print
    the same digests for all three corpora feed TensorFlow the same bytes, so any
    difference in the models they train is TensorFlow's; comparing digests
    (`scripts/train --corpora`) takes the rendering time, not a whole training run.
    """
    return array_digest(
        array
        for scene in scenes
        for array in (scene.features, scene.labels, scene.present, scene.carrier_ok)
    )


def array_digest(arrays: Iterable[npt.NDArray[Any]]) -> str:
    """sha256 (16 hex) of arrays in order: each one's dtype, shape and bytes."""
    h = hashlib.sha256()
    for array in arrays:
        h.update(str((array.dtype.str, array.shape)).encode())
        h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()[:16]


def learnable(scene: Scene) -> npt.NDArray[np.bool_]:
    """Frames whose label the features can support: the carrier was received, and a
    human label has the person visible (VISIBLE_EXCESS_DB over the scene's empty frames
    in the label's look-back).

    Why: a walker beyond range, under a loud device noise floor or behind music residue
    is "major" in the truth but invisible in the features. Trained on, such windows
    teach "featureless noise may be a person"; mined, they are the hardest windows of
    all (largest loss), so each round would take more of them. Frames without carrier
    are never scored by the pipeline. Evaluation keeps every frame.
    """
    ok = scene.carrier_ok.copy()
    human = (scene.labels == MAJOR) | (scene.labels == MINOR)
    empty = ~scene.present & scene.carrier_ok
    if human.any() and empty.sum() >= BASELINE_MIN_FRAMES:
        motion = scene.features[:, :, 0].astype(np.float32)
        floor = np.percentile(motion[empty], 90, axis=0)
        excess = (motion - floor).max(axis=1)
        recent = excess.copy()
        for lag in range(1, LABEL_FRAMES):
            recent[lag:] = np.maximum(recent[lag:], excess[:-lag])
        ok &= ~human | (recent >= VISIBLE_EXCESS_DB)
    return ok


def window_index(
    scenes: Sequence[Scene], context: int, stride: int, *, learnable_only: bool = False
) -> npt.NDArray[np.int64]:
    """(scene, end frame) pairs for every full context window, every `stride` frames
    (only those whose end frame is `learnable` if asked: training and mining)."""
    rows = []
    for s, scene in enumerate(scenes):
        n = scene.features.shape[0]
        ends = np.arange(context - 1, n, stride)
        if learnable_only:
            ends = ends[learnable(scene)[ends]]
        rows.append(np.stack([np.full(ends.size, s), ends], axis=1))
    return np.concatenate(rows).astype(np.int64) if rows else np.zeros((0, 2), np.int64)


def windows(
    scenes: Sequence[Scene], index: npt.NDArray[np.int64], context: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int8]]:
    """Cut (N, context, bins, planes) scaled windows and their labels (last frame's)."""
    from uspd.dsp.features import scale_features

    x = np.empty((len(index), context, *scenes[0].features.shape[1:]), dtype=np.float32)
    y = np.empty(len(index), dtype=np.int8)
    for k, (s, end) in enumerate(index):
        x[k] = scale_features(scenes[s].features[end - context + 1 : end + 1])
        y[k] = scenes[s].labels[end]
    return x, y
