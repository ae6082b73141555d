"""End-to-end training: corpora → seed model → rare-event mining rounds → int8 export → card.

Why this loop (after Amazon's Echo write-up, shared/reference/amazon-echo-uspd.md):
false alarms come from the long tail (odd fan speeds, curtain gusts, HVAC onsets, music,
pets, people at the edge of range), which a small labelled corpus under-represents. So:
train a seed model on a small corpus; run it over a large unlabelled pool dominated by
rare events; keep what it gets wrong or is unsure about (the simulator's truth plays
the human labeller); retrain; repeat on a fresh slice of the pool. Each round's int8
model is scored on a held-out set of different seeds with the production detector.
The last rounds (`Config.ensemble`) ship together: each retrains from scratch on a
different mix of hard windows, so they err on different windows, and the engine
averages their probabilities (uspd/model/ensemble.py).

Run via scripts/train (Python 3.13 + TensorFlow venv). Everything is seeded; sizes and
seeds below are copied into MODEL_CARD.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from . import corpus as C

REPO = Path(__file__).resolve().parents[1]
MODEL_DIR = REPO / "custom_components" / "ultrasonic_presence" / "uspd" / "model"
CORPUS_DIR = REPO / "training" / "corpus"
RUNS_DIR = REPO / "training" / "runs"
# The mining ensemble the shipped student was distilled from (committed: `--distill`).
TEACHER_DIR = REPO / "training" / "teacher"

ALL_KINDS = (
    "empty", "walk", "walk_past", "seated", "hand", "floor_fan", "ceiling_fan", "curtain",
    "hvac", "music", "music_walk", "pet", "mixed",
)  # fmt: skip
# Seed corpus: an ordinary mix, people-heavy.
SEED_WEIGHTS = (1.5, 2, 1, 2, 1, 1, 0.5, 0.5, 0.5, 1, 1, 0.5, 1)
# Mining pool: dominated by rare events (fans, curtains, HVAC, music, pets, range edge).
POOL_WEIGHTS = (0.5, 0.5, 2, 1, 0.5, 3, 3, 3, 3, 3, 1.5, 3, 1.5)
HOLDOUT_WEIGHTS = (1,) * len(ALL_KINDS)


@dataclass
class Config:
    """Corpus sizes, seeds and training settings (all recorded in the model card)."""

    scene_s: float = 30.0
    n_seed: int = 480
    n_pool: int = 2160  # split into `rounds` fresh slices
    n_holdout: int = 156
    seed_base: int = 1_000
    pool_base: int = 100_000
    holdout_base: int = 900_000
    rounds: int = 3  # mining rounds after the seed model
    ensemble: tuple[int, ...] = (1, 2, 3)  # rounds shipped together (probabilities averaged)
    stride_train: int = 9
    stride_pool: int = 6
    mine_per_round: int = 15_000
    uncertain_below: float = 0.6
    epochs: int = 16
    batch: int = 128
    width: int = 10
    dense: int = 32
    processes: int = 2
    train_seed: int = 7
    # Train and mine only on frames whose label the features support (corpus.learnable):
    # 10 alarms against 18 over 9.9 h of development empty rooms for the same 74/77
    # walk-ins (docs/bench/HISTORY.md). --no-learnable-only trains on every frame.
    learnable_only: bool = True
    # The shipped model: one wider student distilled from the ensemble (distill.py).
    distill: bool = True
    student_width: int = 14
    student_epochs: int = 12
    label_share: float = 0.3  # target = share · one-hot truth + rest · teacher
    easy_share: float = 0.3  # of the pool windows the teacher finds easy, kept at random
    # Second pass (distill.py, "the student's own mistakes"): pool windows where the first
    # student says major (p ≥ fix_student_major) while the teacher does not
    # (p < fix_teacher_major) and the label is not major are added fix_copies times, and
    # the student is fitted again. 13 → 5 alarms in 10.2 h of development empty rooms.
    fix_student_major: float = 0.5
    fix_teacher_major: float = 0.4
    fix_copies: int = 2
    notes: list[str] = field(default_factory=list)


TRAIN_THREADS = 2
"""TensorFlow's intra-op threads. Its float reductions split their work per thread, so
the same seeds give another model (as good, not bit-identical) with another count. The
committed models were trained on a 2-core machine, TensorFlow's default count there;
pinned so `scripts/train` makes the same files on any machine. Measured: the first
distillation pass with 1 thread gave sha256 53f7768b… instead of be64d8a9…; with 2 set
explicitly, be64d8a9… again."""


TRAIN_ISA = "AVX2"
"""Highest x86 instruction set oneDNN (TensorFlow's CPU kernels) may use while training,
set as ONEDNN_MAX_CPU_ISA before TensorFlow starts (an ONEDNN_MAX_CPU_ISA already in
the environment wins). oneDNN picks its kernels, and with them the order of float sums,
by the CPU it finds: measured with the same code, corpora, seeds and 2 threads, the
first distillation pass then called 176 pool windows its own mistakes on this machine's
AVX-512 (fp16, bf16) kernels and 96 capped at AVX2, where the committed student's card
says 213 (made on 2026-11-25, on a CPU nobody wrote down; docs/bench/HISTORY.md,
2026-12-06). Nearly every x86-64 desktop and server CPU since 2013–15 has AVX2, so capped there
the same seeds should make the same files on all of them: a second machine of the same
kind repeated the capped first pass exactly (epoch-1 loss 0.8030, 96 mistakes). An AMD
EPYC (AVX2, no AVX-512) did not (2026-12-07: 72 mistakes), and not through oneDNN alone:
its transfer set already differed by one window, because the corpora it renders differ
(NUMPY_DISABLED_FEATURES). With those capped too, the Xeon mines the EPYC's transfer set
and its first student still makes 85 mistakes to the EPYC's 72 (2026-12-07): capped at
AVX2, TensorFlow's training still differs between CPU families (`tf_probe` tells)."""

NUMPY_DISABLED_FEATURES = (
    "AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR"
)
"""numpy's run-time kernels above AVX2, switched off for training (NPY_DISABLE_CPU_FEATURES,
read when numpy is imported, so scripts/train sets it). numpy picks its ufunc kernels,
and with them the last bits of the simulator's audio, by the CPU: measured on this
project's scenes (a walk-in, a floor fan, a curtain room, 2026-12-07), switching off
AVX2 and FMA3 on an AVX2 machine changes the rendered audio and features bit for bit, so
an AVX-512 machine renders other corpora than an AVX2 one. With the list set, the
AVX2 machine's bits did not change (it has none of them). OPENBLAS_CORETYPE does the same
for BLAS: "Sandybridge" changed the bits, "Haswell" (AVX2 and FMA, what an AVX2 machine
gets by default) did not. An Intel Xeon with AVX-512, capped so (2026-12-07), mines the
AVX2 machine's transfer set (159,307 windows, 96,162 hard; one fewer uncapped); its
corpus digests (`--corpora`) are in docs/bench/HISTORY.md, "twenty-second"."""
OPENBLAS_CORE = "Haswell"
"""OpenBLAS's kernels for training (OPENBLAS_CORETYPE): AVX2 and FMA, as TRAIN_ISA."""


def _kernel_caps() -> dict[str, str]:
    """The caps this process runs with (for the card), and a warning if numpy's were not
    set before numpy was imported (only scripts/train sets them)."""
    caps = {
        name: os.environ.get(var) or "none"
        for name, var in (
            ("onednn_max_cpu_isa", "ONEDNN_MAX_CPU_ISA"),
            ("numpy_disabled_cpu_features", "NPY_DISABLE_CPU_FEATURES"),
            ("openblas_coretype", "OPENBLAS_CORETYPE"),
        )
    }
    if caps["numpy_disabled_cpu_features"] == "none" or caps["openblas_coretype"] == "none":
        print(
            "train: NPY_DISABLE_CPU_FEATURES / OPENBLAS_CORETYPE not set: corpora are "
            "rendered with this CPU's widest numpy and BLAS kernels and can differ on "
            "another CPU (scripts/train sets them; see training.train.NUMPY_DISABLED_FEATURES)",
            flush=True,
        )
    return caps


def _cpu_description() -> str:
    """The CPU model and its widest vector extension (for the model card: see TRAIN_ISA)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        import platform

        return platform.machine() or "unknown"
    first: dict[str, str] = {}  # each key's value for the first core
    for line in info.splitlines():
        key, _, value = line.partition(":")
        first.setdefault(key.strip(), value.strip())
    flags = set(first.get("flags", "").split())
    extensions = (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"))
    widest = next((name for flag, name in extensions if flag in flags), "SSE")
    return f"{first.get('model name', 'unknown')} ({widest})"


def _pin_threads() -> None:
    """TRAIN_THREADS, before TensorFlow starts (RuntimeError if it runs with another)."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(TRAIN_THREADS)
    except RuntimeError:  # already started: fine only with the same count
        if tf.config.threading.get_intra_op_parallelism_threads() != TRAIN_THREADS:
            raise


def _set_seeds(seed: int) -> None:
    import keras
    import tensorflow as tf

    _pin_threads()
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


# Fixed, mild class weights. Inverse-frequency weights backfire with mining: every
# mined hard negative (fan, curtain, music) *lowers* the non_human weight, so the
# model grows more trigger-happy each round (measured: 30 → 40 FA/h). Fixed weights
# let the mined data move the boundary; humans get a mild boost for recall.
CLASS_WEIGHTS: dict[int, float] = {C.NONE: 1.0, C.MAJOR: 1.5, C.MINOR: 1.5, C.NON_HUMAN: 1.0}


def fit(
    x: npt.NDArray[np.float32],
    targets: npt.NDArray[Any],
    cfg: Config,
    input_shape: tuple[int, ...],
    *,
    width: int,
    epochs: int,
    soft_targets: bool = False,
    sample_weight: npt.NDArray[np.float32] | None = None,
) -> Any:
    """Train from scratch (deterministic): Adam, cosine decay, class-weighted CE on hard
    labels (class weights) or on soft targets (per-window weights)."""
    import keras

    from .model_def import build_model

    _set_seeds(cfg.train_seed)
    model = build_model(input_shape, width=width, dense=cfg.dense)  # type: ignore[arg-type]
    steps = epochs * int(np.ceil(len(x) / cfg.batch))
    lr = keras.optimizers.schedules.CosineDecay(3e-3, steps, alpha=0.05)
    loss = (
        keras.losses.CategoricalCrossentropy(from_logits=True)
        if soft_targets
        else keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    model.compile(optimizer=keras.optimizers.Adam(lr), loss=loss, metrics=["accuracy"])
    model.fit(
        x,
        targets if soft_targets else targets.astype(np.int64),
        batch_size=cfg.batch,
        epochs=epochs,
        class_weight=None if soft_targets else CLASS_WEIGHTS,
        sample_weight=sample_weight,
        shuffle=True,
        verbose=2,
    )
    return model


def tf_probe(cfg: Config) -> str:
    """sha256 (16 hex) of a small model fitted one epoch on fixed random windows, with
    the run's seeds, threads and kernel caps.

    Why: two machines whose corpus digests agree but whose models differ have
    TensorFlow's float kernels to blame, and this tells that in a minute, without
    corpora: the same digest on both means TensorFlow sums alike there."""
    from uspd.dsp.features import FEATURE_SHAPE

    rng = np.random.default_rng(0)
    x = rng.normal(-60.0, 15.0, size=(4096, *FEATURE_SHAPE)).astype(np.float32)
    y = rng.integers(0, 4, size=4096).astype(np.int8)
    model = fit(x, y, cfg, FEATURE_SHAPE, width=cfg.width, epochs=1)
    return C.array_digest(model.get_weights())


def export_int8(
    model: Any,
    rep: npt.NDArray[np.float32],
    input_shape: tuple[int, ...],
    *,
    width: int,
    dense: int,
) -> bytes:
    """Full-integer int8 TFLite (int8 in/out), calibrated on representative windows."""
    import tensorflow as tf

    from .model_def import build_model

    fixed = build_model(input_shape, width=width, dense=dense, batch_size=1)  # type: ignore[arg-type]
    fixed.set_weights(model.get_weights())

    def representative() -> Any:
        for i in range(len(rep)):
            yield [rep[i : i + 1]]

    conv = tf.lite.TFLiteConverter.from_keras_model(fixed)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return bytes(conv.convert())


def predict_float(
    model: Any, x: npt.NDArray[np.float32], batch_size: int = 1024
) -> npt.NDArray[np.float32]:
    """Softmax probabilities from the float Keras model (mining, distillation)."""
    logits = model.predict(x, batch_size=batch_size, verbose=0)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def hard_masks(
    probs: npt.NDArray[np.float32], y: npt.NDArray[np.int8], cfg: Config
) -> dict[str, npt.NDArray[np.bool_]]:
    """Windows a model gets wrong, is unsure about or nearly alarms on (and their union,
    "keep"): what mining takes from the pool, and what distillation must transfer."""
    pred = probs.argmax(axis=1)
    human = (y == C.MAJOR) | (y == C.MINOR)
    p_human = probs[:, C.MAJOR] + probs[:, C.MINOR]
    # Confusing none ↔ non_human does not change a decision; only count real errors.
    wrong = (human & (p_human < 0.5)) | (~human & (p_human >= 0.5)) | (human & (pred != y))
    unsure = probs.max(axis=1) < cfg.uncertain_below
    near_alarm = ~human & (probs[:, C.MAJOR] >= 0.2)
    return {
        "wrong": wrong,
        "unsure": unsure,
        "near_alarm": near_alarm,
        "keep": wrong | unsure | near_alarm,
    }


def mine(
    probs: npt.NDArray[np.float32], y: npt.NDArray[np.int8], cfg: Config, seed: int
) -> tuple[npt.NDArray[np.int64], dict[str, int]]:
    """Indices of pool windows the model gets wrong or is unsure about (hardest first)."""
    masks = hard_masks(probs, y, cfg)
    keep = masks["keep"]
    loss = -np.log(np.maximum(probs[np.arange(len(y)), y.astype(np.int64)], 1e-7))
    idx = np.flatnonzero(keep)
    idx = idx[np.argsort(-loss[idx], kind="stable")][: cfg.mine_per_round]
    # A sprinkle of easy pool windows keeps the class balance of the pool's tail.
    rng = np.random.default_rng(seed)
    easy = np.flatnonzero(~keep)
    extra = (
        rng.choice(easy, size=min(len(easy), len(idx) // 10), replace=False) if len(easy) else easy
    )
    stats = {
        "pool_windows": len(y),
        "wrong": int(masks["wrong"].sum()),
        "unsure": int(masks["unsure"].sum()),
        "near_alarm": int(masks["near_alarm"].sum()),
        "kept": len(idx),
        "easy_added": len(extra),
    }
    return np.concatenate([idx, extra]).astype(np.int64), stats


# ---------------------------------------------------------------------- evaluation
def evaluate(models: bytes | list[bytes], scenes: list[C.Scene], context: int) -> dict[str, Any]:
    """int8 model or ensemble (numpy executor, as shipped) + production detector (with
    the pipeline's rotation test) on held-out scenes."""
    from uspd.detector import OccupancyDetector
    from uspd.model import load_ensemble
    from uspd.rotation import NewEnergyBalance, fan_like

    clf = load_ensemble([models] if isinstance(models, bytes) else models, prefer="numpy")
    conf = np.zeros((4, 4), np.int64)
    fa_events, fa_seconds = 0, 0.0
    fa_kinds: dict[str, int] = {}
    entries, detected, latencies = 0, 0, []
    for scene in scenes:
        idx = C.window_index([scene], context, 1)
        x, y = C.windows([scene], idx, context)
        probs = np.concatenate([clf.predict(x[i : i + 64]) for i in range(0, len(x), 64)])
        np.add.at(conf, (y.astype(np.int64), probs.argmax(axis=1)), 1)
        hop = float(scene.meta["hop_s"])
        det = OccupancyDetector()
        ends = idx[:, 1]
        # As the pipeline: the balance of each frame with a carrier, over the frames
        # with a carrier before it (the corpus keeps no music flag: the held-out
        # figures apply the test on music frames too).
        test = NewEnergyBalance()
        motion = scene.features[:, :, 0].astype(np.float64)
        balance = [
            test.update(m) if ok else 0.0 for m, ok in zip(motion, scene.carrier_ok, strict=True)
        ]
        occupied = np.array(
            [
                det.update(
                    float((e + 1) * hop), p, rotating=fan_like(balance[e], music=False)
                ).occupied
                for e, p in zip(ends, probs, strict=True)
            ]
        )
        present = scene.present[ends]
        onsets = np.flatnonzero(occupied[1:] & ~occupied[:-1]) + 1
        if occupied[0]:
            onsets = np.concatenate([[0], onsets])
        # False alarms: occupied onsets while nobody has been in the room yet.
        first_person = int(np.argmax(present)) if present.any() else len(present)
        fa = int(np.sum(onsets < first_person))
        fa_events += fa
        fa_seconds += first_person * hop
        if fa:
            fa_kinds[scene.meta["kind"]] = fa_kinds.get(scene.meta["kind"], 0) + fa
        major = np.flatnonzero(y == C.MAJOR)
        if major.size and present.any():
            entries += 1
            start = major[0]
            hits = np.flatnonzero(occupied[start:])
            if hits.size:
                detected += 1
                latencies.append(float(hits[0] * hop))
    per_class_recall = (np.diag(conf) / np.maximum(conf.sum(axis=1), 1)).round(3).tolist()
    human = conf[1:3].sum()
    human_hit = conf[1:3, 1:3].sum()
    nonhuman = conf[[0, 3]].sum()
    nonhuman_fp = conf[[0, 3]][:, 1:3].sum()
    return {
        "fa_per_hour": fa_events / max(fa_seconds / 3600.0, 1e-9),
        "fa_events": fa_events,
        "fa_hours": fa_seconds / 3600.0,
        "fa_by_kind": fa_kinds,
        "detection": detected / max(entries, 1),
        "entries": entries,
        "median_latency_s": float(np.median(latencies)) if latencies else None,
        "frame_human_recall": float(human_hit / max(human, 1)),
        "frame_false_human_rate": float(nonhuman_fp / max(nonhuman, 1)),
        "per_class_recall": per_class_recall,
        "confusion": conf.tolist(),
    }


def float_int8_agreement(model: Any, model_bytes: bytes, x: npt.NDArray[np.float32]) -> float:
    """Share of windows where the int8 model's argmax equals the float model's."""
    from uspd.model import load_classifier

    clf = load_classifier(model_bytes, prefer="numpy")
    q = np.concatenate([clf.predict(x[i : i + 64]) for i in range(0, len(x), 64)])
    f = predict_float(model, x)
    return float(np.mean(q.argmax(1) == f.argmax(1)))


# ---------------------------------------------------------------------- main
def holdout_scenes(cfg: Config) -> list[C.Scene]:
    """The held-out corpus (rendered into training/corpus/holdout once, then cached)."""
    specs = C.make_specs(ALL_KINDS, HOLDOUT_WEIGHTS, cfg.n_holdout, cfg.holdout_base, cfg.scene_s)
    return C.load(C.build(specs, CORPUS_DIR / "holdout", cfg.processes))


@dataclass
class Corpora:
    """The three corpora, rendered (or loaded from the cache) once per run."""

    seed: list[C.Scene]
    holdout: list[C.Scene]
    pool: list[C.Scene]
    seconds: float

    def digests(self) -> dict[str, str]:
        """Each corpus's content digest (corpus.digest), for the card."""
        return {name: C.digest(getattr(self, name)) for name in ("seed", "holdout", "pool")}


def corpora(cfg: Config) -> Corpora:
    """Render what is not cached yet and load all three corpora."""
    t0 = time.monotonic()
    seed_specs = C.make_specs(ALL_KINDS, SEED_WEIGHTS, cfg.n_seed, cfg.seed_base, cfg.scene_s)
    pool_specs = C.make_specs(ALL_KINDS, POOL_WEIGHTS, cfg.n_pool, cfg.pool_base, cfg.scene_s)
    print("corpora:", flush=True)
    seed = C.load(C.build(seed_specs, CORPUS_DIR / "seed", cfg.processes))
    holdout = holdout_scenes(cfg)
    pool = C.load(C.build(pool_specs, CORPUS_DIR / "pool", cfg.processes))
    return Corpora(seed, holdout, pool, round(time.monotonic() - t0, 1))


def training_windows(
    scenes: list[C.Scene], stride: int, cfg: Config
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int8]]:
    """Windows every `stride` frames for training and mining (learnable frames only, if
    configured) and their labels."""
    from uspd.dsp.features import CONTEXT_FRAMES

    only = cfg.learnable_only
    idx = C.window_index(scenes, CONTEXT_FRAMES, stride, learnable_only=only)
    return C.windows(scenes, idx, CONTEXT_FRAMES)


def seed_windows(
    cfg: Config, scenes: list[C.Scene]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int8], npt.NDArray[np.float32], Any]:
    """Seed training windows, the 400 int8 calibration windows drawn from them and the
    run's random generator (whose next draws distillation makes, in either entry)."""
    x, y = training_windows(scenes, cfg.stride_train, cfg)
    rng = np.random.default_rng(cfg.train_seed)
    rep = x[rng.choice(len(x), size=min(400, len(x)), replace=False)]
    return x, y, rep, rng


def _base_report(cfg: Config, data: Corpora) -> dict[str, Any]:
    return {
        "config": {k: v for k, v in cfg.__dict__.items() if k != "notes"},
        "class_weights": CLASS_WEIGHTS,
        "kinds": ALL_KINDS,
        "weights": {"seed": SEED_WEIGHTS, "pool": POOL_WEIGHTS, "holdout": HOLDOUT_WEIGHTS},
        "corpus_seconds": data.seconds,
        "corpus_digests": data.digests(),
        "fingerprint": C.source_fingerprint(),
        "cpu": _cpu_description(),
        **_kernel_caps(),
    }


def run(
    cfg: Config, out_dir: Path, card_path: Path, model_dir: Path, teacher_dir: Path
) -> dict[str, Any]:
    """The whole pipeline; returns the report written into the card."""
    from uspd.dsp.features import CONTEXT_FRAMES, FEATURE_SHAPE

    t_start = time.monotonic()
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    data = corpora(cfg)
    x_seed, y_seed, rep, rng = seed_windows(cfg, data.seed)
    x_train, y_train = x_seed, y_seed
    pool_scenes = data.pool
    slices = np.array_split(np.arange(len(pool_scenes)), max(cfg.rounds, 1))

    rounds: list[dict[str, Any]] = []
    model_bytes = b""
    model: Any = None
    for r in range(cfg.rounds + 1):
        t0 = time.monotonic()
        print(f"round {r}: training on {len(x_train)} windows {np.bincount(y_train, minlength=4)}")
        model = fit(x_train, y_train, cfg, FEATURE_SHAPE, width=cfg.width, epochs=cfg.epochs)
        model_bytes = export_int8(model, rep, FEATURE_SHAPE, width=cfg.width, dense=cfg.dense)
        (out_dir / f"round{r}.tflite").write_bytes(model_bytes)
        metrics = evaluate(model_bytes, data.holdout, CONTEXT_FRAMES)
        entry: dict[str, Any] = {
            "round": r,
            "train_windows": len(x_train),
            "train_class_counts": np.bincount(y_train, minlength=4).tolist(),
            **metrics,
        }
        if r < cfg.rounds:
            part = [pool_scenes[i] for i in slices[r]]
            x_pool, y_pool = training_windows(part, cfg.stride_pool, cfg)
            chosen, stats = mine(predict_float(model, x_pool), y_pool, cfg, cfg.train_seed + r)
            entry["mined"] = {**stats, "pool_scenes": len(part)}
            x_train = np.concatenate([x_train, x_pool[chosen]])
            y_train = np.concatenate([y_train, y_pool[chosen]])
            del x_pool, y_pool
        entry["seconds"] = round(time.monotonic() - t0, 1)
        rounds.append(entry)
        print(json.dumps({k: v for k, v in entry.items() if k != "confusion"}), flush=True)
    del x_train, y_train

    report = {
        **_base_report(cfg, data),
        "rounds": rounds,
        "float_int8_argmax_agreement": float_int8_agreement(model, model_bytes, rep),
        "params": int(model.count_params()),
        "tflite_bytes": len(model_bytes),
    }
    members = list(_members(cfg, out_dir, teacher_dir).values())
    seed = (x_seed, y_seed)
    _teach(report, members, seed, cfg=cfg, data=data, rep=rep, rng=rng, out_dir=out_dir)
    report["total_seconds"] = round(time.monotonic() - t_start, 1)
    finish(report, cfg, out_dir, card_path=card_path, model_dir=model_dir, teacher_dir=teacher_dir)
    return report


def _teach(
    report: dict[str, Any],
    members: list[bytes],
    seed: tuple[npt.NDArray[np.float32], npt.NDArray[np.int8]],
    *,
    cfg: Config,
    data: Corpora,
    rep: npt.NDArray[np.float32],
    rng: Any,
    out_dir: Path,
) -> None:
    """Score the ensemble (the teacher) and, if configured, distill the student from it."""
    from uspd.dsp.features import CONTEXT_FRAMES

    from .distill import distill

    report["ensemble"] = {
        "rounds": list(cfg.ensemble),
        **evaluate(members, data.holdout, CONTEXT_FRAMES),
    }
    if cfg.distill:
        student, facts = distill(members, *seed, data.pool, rep=rep, cfg=cfg, rng=rng)
        (out_dir / "student.tflite").write_bytes(student)
        report["student"] = {**facts, **evaluate(student, data.holdout, CONTEXT_FRAMES)}
        print(json.dumps({k: v for k, v in report["student"].items() if k != "confusion"}))


def distill_only(
    teacher_dir: Path, out_dir: Path, card_path: Path, model_dir: Path
) -> dict[str, Any]:
    """Distill the student from a finished run's ensemble (its presence_round<N>.tflite
    files, e.g. the committed training/teacher/), without re-running the mining rounds:
    the same corpora, calibration windows and random draws as a whole run."""
    from uspd.model.classifier import shipped_rounds

    t_start = time.monotonic()
    files = shipped_rounds(teacher_dir)
    if not files:
        raise SystemExit(f"no presence_round<N>.tflite files in {teacher_dir}")
    rounds = tuple(int(f.stem.removeprefix("presence_round")) for f in files)
    cfg = Config(ensemble=rounds)
    data = corpora(cfg)
    x_seed, y_seed, rep, rng = seed_windows(cfg, data.seed)
    report = _base_report(cfg, data)
    members = [f.read_bytes() for f in files]
    seed = (x_seed, y_seed)
    _teach(report, members, seed, cfg=cfg, data=data, rep=rep, rng=rng, out_dir=out_dir)
    report["total_seconds"] = round(time.monotonic() - t_start, 1)
    finish(report, cfg, out_dir, card_path=card_path, model_dir=model_dir, teacher_dir=teacher_dir)
    return report


def _members(cfg: Config, run_dir: Path, teacher_dir: Path) -> dict[int, bytes]:
    """The ensemble's files: the run's own rounds, else (a `--distill` run) the teacher's."""
    paths = {r: run_dir / f"round{r}.tflite" for r in cfg.ensemble}
    if not all(path.exists() for path in paths.values()):
        paths = {r: teacher_dir / f"presence_round{r}.tflite" for r in cfg.ensemble}
    return {r: path.read_bytes() for r, path in paths.items()}


def finish(
    report: dict[str, Any],
    cfg: Config,
    run_dir: Path,
    *,
    card_path: Path,
    model_dir: Path,
    teacher_dir: Path,
) -> None:
    """Check the shipped model on real clips, ship its files, write report and card.

    The files in model_dir are the engine's one record of what ships (it loads
    presence.tflite, else every presence_round<N>.tflite): nothing of an earlier run may
    stay behind. With a student, the ensemble goes to training/teacher/ (what
    `--distill` starts from) and the student ships as presence.tflite.
    """
    from .realcheck import check

    contents = _members(cfg, run_dir, teacher_dir)
    if "student" in report:
        shipped = {"presence.tflite": (run_dir / "student.tflite").read_bytes()}
        teacher = {f"presence_round{r}.tflite": content for r, content in contents.items()}
        teacher_dir.mkdir(parents=True, exist_ok=True)
        for stale in teacher_dir.glob("presence_round*.tflite"):
            if stale.name not in teacher:
                stale.unlink()
        for name, content in teacher.items():
            (teacher_dir / name).write_bytes(content)
    else:
        shipped = {f"presence_round{r}.tflite": content for r, content in contents.items()}
    report["real_check"] = check(list(shipped.values()))
    (run_dir / "report.json").write_text(json.dumps(report, indent=1))
    model_dir.mkdir(parents=True, exist_ok=True)
    for stale in [*model_dir.glob("presence_round*.tflite"), model_dir / "presence.tflite"]:
        if stale.name not in shipped:
            stale.unlink(missing_ok=True)
    for name, content in shipped.items():
        (model_dir / name).write_bytes(content)
    from .card import write_card

    write_card(report, card_path)
    print(f"wrote {', '.join(shipped)} and {card_path}")


def reevaluate(run_dir: Path, card_path: Path, model_dir: Path) -> dict[str, Any]:
    """Re-score a finished run's int8 models with today's engine (detector, features of
    the cached held-out corpus) without retraining: a detector change needs no new
    models, only new figures. Training-time fields (windows, mining) are kept."""
    from uspd.dsp.features import CONTEXT_FRAMES

    report: dict[str, Any] = json.loads((run_dir / "report.json").read_text())
    # A run from before ensembles has no "ensemble" key: it gets today's default.
    report["config"]["ensemble"] = list(report["config"].get("ensemble", Config.ensemble))
    known = {k: v for k, v in report["config"].items() if k in Config.__dataclass_fields__}
    cfg = Config(**{**known, "ensemble": tuple(report["config"]["ensemble"])})
    hold_scenes = holdout_scenes(cfg)
    for entry in report.get("rounds", []):
        content = (run_dir / f"round{entry['round']}.tflite").read_bytes()
        entry.update(evaluate(content, hold_scenes, CONTEXT_FRAMES))
    members = list(_members(cfg, run_dir, TEACHER_DIR).values())
    report["ensemble"].update(evaluate(members, hold_scenes, CONTEXT_FRAMES))
    if "student" in report:
        student = (run_dir / "student.tflite").read_bytes()
        report["student"].update(evaluate(student, hold_scenes, CONTEXT_FRAMES))
    report["reevaluated_with"] = C.source_fingerprint()
    finish(report, cfg, run_dir, card_path=card_path, model_dir=model_dir, teacher_dir=TEACHER_DIR)
    return report


def main() -> None:
    """CLI: `python -m training.train [--quick | --distill [DIR] | --reevaluate RUN |
    --corpora]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny corpora (smoke test)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="run directory")
    parser.add_argument(
        "--learnable-only",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="train and mine only on frames whose label the features support "
        "(default; --no-learnable-only trains on every frame)",
    )
    parser.add_argument(
        "--no-distill",
        action="store_true",
        help="ship the mining ensemble itself instead of a student distilled from it",
    )
    parser.add_argument(
        "--distill",
        type=Path,
        nargs="?",
        const=TEACHER_DIR,
        metavar="TEACHER",
        help="only distill the shipped model from a finished run's ensemble "
        "(default: the committed training/teacher/)",
    )
    parser.add_argument(
        "--corpora",
        action="store_true",
        help="only render (or load) the three corpora and print their digests, the "
        "kernel caps and a one-epoch TensorFlow probe: compare two machines without training",
    )
    parser.add_argument(
        "--reevaluate",
        type=Path,
        metavar="RUN",
        help="re-score a finished run's models with the current engine and ship them",
    )
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("ONEDNN_MAX_CPU_ISA", TRAIN_ISA)
    if args.reevaluate:
        reevaluate(args.reevaluate, MODEL_DIR / "MODEL_CARD.md", MODEL_DIR)
        return
    if args.corpora:
        cfg = Config()
        data = corpora(cfg)
        facts = {"cpu": _cpu_description(), **_kernel_caps(), "fingerprint": C.source_fingerprint()}
        facts["tf_probe"] = tf_probe(cfg)
        print(json.dumps({**facts, "corpus_digests": data.digests()}, indent=1))
        return
    out = args.out or RUNS_DIR / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    if args.distill:
        distill_only(args.distill, out, MODEL_DIR / "MODEL_CARD.md", MODEL_DIR)
        return
    cfg = Config()
    if args.quick:
        cfg = Config(n_seed=16, n_pool=24, n_holdout=13, epochs=2, mine_per_round=2000)
        cfg.student_epochs = 1
    if args.epochs:
        cfg.epochs = args.epochs
    if args.learnable_only is not None:
        cfg.learnable_only = args.learnable_only
    if args.no_distill:
        cfg.distill = False
    # The smoke test must not overwrite the shipped model (nor the committed teacher).
    model_dir = out if args.quick else MODEL_DIR
    teacher_dir = out / "teacher" if args.quick else TEACHER_DIR
    run(cfg, out, model_dir / "MODEL_CARD.md", model_dir, teacher_dir)


if __name__ == "__main__":
    main()
