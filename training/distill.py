"""Distillation: one int8 model that learns the mining ensemble's averaged probabilities.

Why: the mining rounds averaged (the teacher) raise fewer false alarms than any single
round, because the rounds err on different windows; but the average is also softer
than one model's output, and three models cost three inferences per frame. A single,
wider student trained on the teacher's probabilities ("soft targets", Hinton, Vinyals
& Dean 2015, "Distilling the Knowledge in a Neural Network", arXiv:1503.02531) keeps
what the rounds agree on and is one inference. Measured on the development rooms
(docs/bench/HISTORY.md, "one distilled model ships"): 76/77 walk-ins with 5 alarms in
3 h of empty rooms, where the ensemble needs 10 for the same walk-ins.

The transfer set is where the teacher's knowledge matters: the labelled seed windows,
every pool window the teacher gets wrong, is unsure about or nearly alarms on (the
mining criteria, `train.hard_masks`) and a seeded share of the easy rest. The target
mixes the true label in (`label_share`) so the student does not copy the teacher's
mistakes wholesale.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from . import corpus as C

if TYPE_CHECKING:
    from .train import Config

F32 = npt.NDArray[np.float32]
I8 = npt.NDArray[np.int8]


def teacher_probabilities(members: Sequence[bytes], x: F32) -> F32:
    """The ensemble's mean probabilities (numpy executor: bit-exact, as shipped)."""
    from uspd.model import load_ensemble

    teacher = load_ensemble(list(members), prefer="numpy")
    step = 1024
    return np.concatenate([teacher.predict(x[i : i + step]) for i in range(0, len(x), step)])


def transfer_set(
    members: Sequence[bytes],
    x_seed: F32,
    y_seed: I8,
    pool_scenes: list[C.Scene],
    *,
    cfg: Config,
    rng: np.random.Generator,
) -> tuple[F32, I8, F32, dict[str, int]]:
    """(windows, true labels, soft targets, counts) the student learns from, given the
    run's seed windows (`train.seed_windows`)."""
    from .train import hard_masks, training_windows

    x_pool, y_pool = training_windows(pool_scenes, cfg.stride_pool, cfg)
    p_pool = teacher_probabilities(members, x_pool)
    hard = hard_masks(p_pool, y_pool, cfg)["keep"]
    easy = np.flatnonzero(~hard)
    extra = rng.choice(easy, size=round(cfg.easy_share * len(easy)), replace=False)
    chosen = np.sort(np.concatenate([np.flatnonzero(hard), extra]))
    x = np.concatenate([x_seed, x_pool[chosen]])
    y = np.concatenate([y_seed, y_pool[chosen]])
    del x_pool
    teacher = np.concatenate([teacher_probabilities(members, x_seed), p_pool[chosen]])
    onehot = np.eye(teacher.shape[1], dtype=np.float32)[y.astype(np.int64)]
    soft = (cfg.label_share * onehot + (1.0 - cfg.label_share) * teacher).astype(np.float32)
    counts = {
        "seed_windows": len(x_seed),
        "pool_windows": len(y_pool),
        "pool_hard": int(hard.sum()),
        "pool_easy_added": len(extra),
        "windows": len(x),
    }
    return x, y, soft, counts


def distill(
    members: Sequence[bytes],
    x_seed: F32,
    y_seed: I8,
    pool_scenes: list[C.Scene],
    *,
    rep: F32,
    cfg: Config,
    rng: np.random.Generator,
) -> tuple[bytes, dict[str, Any]]:
    """Train and export the student; returns its int8 .tflite and what made it."""
    from uspd.dsp.features import FEATURE_SHAPE

    from .train import CLASS_WEIGHTS, export_int8, fit, float_int8_agreement

    t0 = time.monotonic()
    x, y, soft, counts = transfer_set(members, x_seed, y_seed, pool_scenes, cfg=cfg, rng=rng)
    print(f"distilling: {counts}", flush=True)
    weights = np.array([CLASS_WEIGHTS[c] for c in sorted(CLASS_WEIGHTS)], np.float32)
    model = fit(
        x, soft, cfg, FEATURE_SHAPE, width=cfg.student_width, epochs=cfg.student_epochs,
        soft_targets=True, sample_weight=weights[y.astype(np.int64)],
    )  # fmt: skip
    del x
    content = export_int8(model, rep, FEATURE_SHAPE, width=cfg.student_width, dense=cfg.dense)
    return content, {
        "transfer": counts,
        "teacher_sha256": [hashlib.sha256(m).hexdigest() for m in members],
        "params": int(model.count_params()),
        "tflite_bytes": len(content),
        "float_int8_argmax_agreement": float_int8_agreement(model, content, rep),
        "seconds": round(time.monotonic() - t0, 1),
    }
