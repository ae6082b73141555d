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

Then the student's own mistakes: a student fitted once is run over the whole pool, the
windows where it calls major motion and the teacher does not (and the label is not
major) are added to the transfer set, and the student is fitted again from scratch.
Why: most of the first student's floor-fan alarms were its own, not the teacher's (the
teacher stayed under the major threshold in 4 of 5 spin-up alarm rooms), and only 213
of the 205,227 pool windows are such mistakes, too few to weigh in a 159,306-window
fit. Measured on 10.2 h of development empty rooms at the defaults: 13 alarms → 5,
pets 101 → 60, the same 76/77 walk-ins (docs/bench/HISTORY.md).
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
) -> tuple[F32, I8, F32, dict[str, int], tuple[F32, I8, F32]]:
    """(windows, true labels, soft targets, counts) the student learns from, given the
    run's seed windows (`train.seed_windows`), and the pool's (windows, labels, teacher
    probabilities) for the second pass."""
    from .train import hard_masks, training_windows

    x_pool, y_pool = training_windows(pool_scenes, cfg.stride_pool, cfg)
    p_pool = teacher_probabilities(members, x_pool)
    hard = hard_masks(p_pool, y_pool, cfg)["keep"]
    easy = np.flatnonzero(~hard)
    extra = rng.choice(easy, size=round(cfg.easy_share * len(easy)), replace=False)
    chosen = np.sort(np.concatenate([np.flatnonzero(hard), extra]))
    x = np.concatenate([x_seed, x_pool[chosen]])
    y = np.concatenate([y_seed, y_pool[chosen]])
    teacher = np.concatenate([teacher_probabilities(members, x_seed), p_pool[chosen]])
    counts = {
        "seed_windows": len(x_seed),
        "pool_windows": len(y_pool),
        "pool_hard": int(hard.sum()),
        "pool_easy_added": len(extra),
        "windows": len(x),
    }
    return x, y, soft_targets(y, teacher, cfg), counts, (x_pool, y_pool, p_pool)


def soft_targets(y: I8, teacher: F32, cfg: Config) -> F32:
    """label_share · one-hot truth + the rest · the teacher's probabilities."""
    onehot = np.eye(teacher.shape[1], dtype=np.float32)[y.astype(np.int64)]
    return (cfg.label_share * onehot + (1.0 - cfg.label_share) * teacher).astype(np.float32)


def student_mistakes(model: Any, x_pool: F32, y_pool: I8, p_pool: F32, cfg: Config) -> Any:
    """Pool windows where the student calls major motion and the teacher does not, and
    the label is not major (the first student's own would-be false alarms)."""
    from .train import predict_float

    # Batches of 4096, as when the shipped model was made (the batch can move the last bit).
    p_student = predict_float(model, x_pool, batch_size=4096)
    return np.flatnonzero(
        (p_student[:, C.MAJOR] >= cfg.fix_student_major)
        & (p_pool[:, C.MAJOR] < cfg.fix_teacher_major)
        & (y_pool != C.MAJOR)
    )


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
    x, y, soft, counts, pool = transfer_set(members, x_seed, y_seed, pool_scenes, cfg=cfg, rng=rng)
    print(f"distilling: {counts}", flush=True)
    weights = np.array([CLASS_WEIGHTS[c] for c in sorted(CLASS_WEIGHTS)], np.float32)

    def fit_student(x: F32, soft: F32, y: I8) -> Any:
        """A student from scratch (both passes: same seeds, settings and weighting)."""
        return fit(
            x, soft, cfg, FEATURE_SHAPE, width=cfg.student_width, epochs=cfg.student_epochs,
            soft_targets=True, sample_weight=weights[y.astype(np.int64)],
        )  # fmt: skip

    first = fit_student(x, soft, y)
    x_pool, y_pool, p_pool = pool
    add = student_mistakes(first, x_pool, y_pool, p_pool, cfg)
    counts["student_mistakes_added"] = len(add)
    counts["windows"] = len(x) + cfg.fix_copies * len(add)
    print(f"second pass: {len(add)} windows where the student alone says major", flush=True)
    fix_soft = soft_targets(y_pool[add], p_pool[add], cfg)
    x = np.concatenate([x, *[x_pool[add]] * cfg.fix_copies])
    y = np.concatenate([y, *[y_pool[add]] * cfg.fix_copies])
    soft = np.concatenate([soft, *[fix_soft] * cfg.fix_copies])
    del x_pool, pool
    model = fit_student(x, soft, y)
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
