"""Training-side logic that needs no TensorFlow: labelling from truth, and mining."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training import corpus as C
from training.train import Config, hard_masks, mine


def test_frame_labels_look_back_over_the_stft_span() -> None:
    motion = ["none", "none", "major", "none", "none", "none", "none", "minor", "still", "still"]
    inter: list[set[str]] = [set()] * 10
    labels = C.frame_labels(motion, inter).tolist()
    # major at frame 2 stays the label for LABEL_FRAMES (4) frames: 2, 3, 4, 5
    assert labels[:7] == [C.NONE, C.NONE, C.MAJOR, C.MAJOR, C.MAJOR, C.MAJOR, C.NONE]
    assert labels[7:] == [C.MINOR, C.MINOR, C.MINOR]


def test_frame_labels_interferers_and_people() -> None:
    motion = ["none", "still", "minor", "none"]
    inter = [{"floor_fan"}, {"floor_fan"}, {"floor_fan"}, set()]
    labels = C.frame_labels(motion, inter).tolist()
    # fan alone / fan + still person → non_human; human motion wins over the fan;
    # the fan's last frame is still inside the look-back at frame 3 but minor wins.
    assert labels == [C.NON_HUMAN, C.NON_HUMAN, C.MINOR, C.MINOR]
    # a non-Doppler label (e.g. an unknown one) does not make non_human
    assert C.frame_labels(["none"], [{"reflector"}]).tolist() == [C.NONE]


def test_specs_are_deterministic_and_disjoint() -> None:
    a = C.make_specs(["walk", "pet"], [1, 1], 5, 100, 30.0)
    b = C.make_specs(["walk", "pet"], [1, 1], 5, 100, 30.0)
    c = C.make_specs(["walk", "pet"], [1, 1], 5, 900, 30.0)
    assert a == b
    assert {s.seed for s in a}.isdisjoint({s.seed for s in c})
    assert a[0].key("x") != a[0].key("y")  # engine sources are part of the cache key


def test_mining_keeps_errors_and_unsure_windows_hardest_first() -> None:
    y = np.array([C.MAJOR, C.NONE, C.NON_HUMAN, C.MINOR, C.NONE], dtype=np.int8)
    probs = np.array(
        [
            [0.05, 0.9, 0.03, 0.02],  # right and sure: not mined
            [0.2, 0.7, 0.05, 0.05],  # false alarm: mined, highest loss
            [0.3, 0.05, 0.05, 0.6],  # right but p(major) small, max 0.6: not mined
            [0.5, 0.05, 0.4, 0.05],  # missed minor (p_human 0.45): mined
            [0.97, 0.01, 0.01, 0.01],  # easy
        ],
        dtype=np.float32,
    )
    cfg = Config(mine_per_round=10, uncertain_below=0.55)
    chosen, stats = mine(probs, y, cfg, seed=0)
    assert chosen[:2].tolist() == [1, 3]
    assert stats["wrong"] == 2 and stats["kept"] == 2


def _scene(motion_db: np.ndarray, labels: list[int], present: list[bool]) -> C.Scene:
    n = len(labels)
    features = np.full((n, 64, 2), -100.0, dtype=np.float16)
    features[:, :, 0] = motion_db
    return C.Scene(
        features=features,
        labels=np.array(labels, dtype=np.int8),
        present=np.array(present, dtype=bool),
        carrier_ok=np.ones(n, dtype=bool),
        meta={"kind": "walk"},
    )


def test_corpus_digest_sees_one_changed_bit_and_the_order(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    a = _scene(rng.normal(-80.0, 5.0, size=(30, 64)), [C.NONE] * 30, [False] * 30)
    b = _scene(rng.normal(-80.0, 5.0, size=(30, 64)), [C.MAJOR] * 30, [True] * 30)
    reference = C.digest([a, b])
    # The same bytes written and read back (as the cache does) give the same digest.
    paths = []
    for k, scene in enumerate((a, b)):
        path = tmp_path / f"{k}.npz"
        C.save_scene(
            path,
            {"features": scene.features, "labels": scene.labels, "present": scene.present,
             "pet": np.zeros(30, dtype=bool), "carrier_ok": scene.carrier_ok, "kind": "walk",
             "seed": k, "carrier_hz": 20000.0, "interferers": [], "hop_s": 0.05},
        )  # fmt: skip
        paths.append(path)
    assert C.digest(C.load(paths)) == reference
    assert C.digest([b, a]) != reference
    flipped = a.features.copy()
    flipped.view(np.uint16)[7, 11, 0] ^= 1  # the last bit of one float16 feature
    changed = C.Scene(flipped, a.labels, a.present, a.carrier_ok, a.meta)
    assert C.digest([changed, b]) != reference


def test_learnable_drops_human_labels_the_features_cannot_show() -> None:
    rng = np.random.default_rng(0)
    n_empty, n_person = 60, 20
    n = n_empty + n_person
    motion = -90.0 + rng.normal(0.0, 1.0, size=(n, 64))
    # The person shows (20 dB up in a few bins) only in their first 8 frames; then they
    # are out of range: still "major" in the truth, noise in the features.
    motion[n_empty : n_empty + 8, 40:44] += 20.0
    labels = [C.NONE] * n_empty + [C.MAJOR] * n_person
    scene = _scene(motion, labels, [False] * n_empty + [True] * n_person)
    ok = C.learnable(scene)
    assert ok[:n_empty].all()  # nobody there: every frame is learnable
    # visible frames, and the look-back (LABEL_FRAMES) after the last visible one
    assert ok[n_empty : n_empty + 8 + C.LABEL_FRAMES - 1].all()
    assert not ok[n_empty + 8 + C.LABEL_FRAMES - 1 :].any()
    # windows for training skip them; evaluation's windows keep every frame
    every = C.window_index([scene], 24, 1)
    learn = C.window_index([scene], 24, 1, learnable_only=True)
    assert len(every) == n - 23 and len(learn) == len(every) - (n_person - 8 - 3)


def test_learnable_drops_frames_without_carrier_and_keeps_unjudgeable_scenes() -> None:
    rng = np.random.default_rng(1)
    motion = -90.0 + rng.normal(0.0, 1.0, size=(30, 64))
    # A person present from the first frame: no empty baseline, labels kept as they are.
    scene = _scene(motion, [C.MINOR] * 30, [True] * 30)
    assert C.learnable(scene).all()
    scene.carrier_ok[5:9] = False
    assert C.learnable(scene).tolist() == [i not in range(5, 9) for i in range(30)]


def test_hard_masks_are_the_mining_criteria() -> None:
    y = np.array([C.NONE, C.MAJOR, C.NON_HUMAN, C.NONE], dtype=np.int8)
    probs = np.array(
        [
            [0.9, 0.05, 0.0, 0.05],  # easy
            [0.6, 0.3, 0.05, 0.05],  # missed walker: wrong
            [0.35, 0.1, 0.05, 0.5],  # right, max 0.5: unsure
            [0.7, 0.25, 0.0, 0.05],  # right and sure, but p(major) 0.25: near alarm
        ],
        dtype=np.float32,
    )
    masks = hard_masks(probs, y, Config(uncertain_below=0.55))
    assert masks["wrong"].tolist() == [False, True, False, False]
    assert masks["unsure"].tolist() == [False, False, True, False]
    assert masks["near_alarm"].tolist() == [False, False, False, True]
    assert masks["keep"].tolist() == [False, True, True, True]


def _feature_scene(seed: int, label: int, floor_db: float = -95.0, n: int = 60) -> C.Scene:
    """A scene of dB features (noise floor, a Doppler streak if `label` is human),
    labelled `label` throughout."""
    rng = np.random.default_rng(seed)
    features = (floor_db + rng.normal(0.0, 2.0, size=(n, 64, 2))).astype(np.float16)
    if label in {C.MAJOR, C.MINOR}:
        features[:, 36:44, 0] += np.float16(40.0)
    return C.Scene(
        features=features,
        labels=np.full(n, label, dtype=np.int8),
        present=np.full(n, label in {C.MAJOR, C.MINOR}),
        carrier_ok=np.ones(n, dtype=bool),
        meta={"kind": "test"},
    )


def test_transfer_set_keeps_seed_and_hard_pool_windows_and_mixes_targets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Seed windows, the pool windows the teacher finds hard, a seeded share of the
    easy rest; targets mix the truth into the teacher's probabilities."""
    from training import distill
    from uspd.dsp.features import CONTEXT_FRAMES, scale_features

    def teacher(members: list[bytes], x: np.ndarray) -> np.ndarray:
        # Sure of non_human on quiet windows, unsure on loud ones (a stand-in teacher).
        quiet = x.mean(axis=(1, 2, 3)) < scale_features(np.array([-85.0], np.float32))[0]
        probs = np.where(quiet[:, None], [0.02, 0.02, 0.01, 0.95], [0.4, 0.2, 0.1, 0.3])
        return probs.astype(np.float32)

    monkeypatch.setattr(distill, "teacher_probabilities", teacher)
    seed = [_feature_scene(1, C.MAJOR), _feature_scene(2, C.NONE)]
    pool = [_feature_scene(3 + i, C.NON_HUMAN, floor_db=-95.0 + 20 * (i % 2)) for i in range(4)]
    cfg = Config(stride_train=4, stride_pool=2, easy_share=0.5, label_share=0.3)
    idx = C.window_index(seed, CONTEXT_FRAMES, 4, learnable_only=True)
    x_seed, y_seed = C.windows(seed, idx, CONTEXT_FRAMES)

    def transfer(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        return distill.transfer_set([], x_seed, y_seed, pool, cfg=cfg, rng=rng)

    x, y, soft, counts, (pool_x, pool_y, pool_p) = transfer(np.random.default_rng(0))
    assert len(pool_x) == len(pool_y) == len(pool_p) == counts["pool_windows"]
    assert counts["seed_windows"] == len(x_seed) > 0
    np.testing.assert_array_equal(x[: len(x_seed)], x_seed)
    np.testing.assert_array_equal(y[: len(y_seed)], y_seed)
    pidx = C.window_index(pool, CONTEXT_FRAMES, 2, learnable_only=True)
    x_pool, _ = C.windows(pool, pidx, CONTEXT_FRAMES)
    hard = teacher([], x_pool)[:, 3] < 0.5
    assert 0 < hard.sum() < len(hard)
    assert counts["pool_windows"] == len(x_pool)
    assert counts["pool_hard"] == hard.sum()
    assert counts["pool_easy_added"] == round(0.5 * (~hard).sum())
    assert len(x) == counts["windows"] == len(x_seed) + hard.sum() + counts["pool_easy_added"]
    assert len(np.unique(x.reshape(len(x), -1), axis=0)) == len(x)  # nothing twice
    # Every hard window is in, the easy ones only in part.
    chosen = {row.tobytes() for row in x[len(x_seed) :]}
    assert all(w.tobytes() in chosen for w in x_pool[hard])
    expected = 0.3 * np.eye(4, dtype=np.float32)[y.astype(np.int64)] + 0.7 * teacher([], x)
    np.testing.assert_allclose(soft, expected, atol=1e-6)
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, atol=1e-5)
    # Seeded: the same generator state draws the same easy windows, another does not.
    again = transfer(np.random.default_rng(0))
    np.testing.assert_array_equal(again[0], x)
    other = transfer(np.random.default_rng(1))
    assert not np.array_equal(other[0], x)


def test_student_mistakes_are_its_own_major_calls_the_teacher_does_not_make() -> None:
    """The second pass adds windows where the student says major, the teacher does not
    and the label is not major: not the teacher's own mistakes, not real walkers."""
    from training.distill import student_mistakes

    class Student:
        def predict(self, x: np.ndarray, **_: object) -> np.ndarray:
            return np.log(x[:, 0, 0, :4] + 1e-9)  # logits whose softmax is the row

    rows = np.array(
        [
            [0.1, 0.7, 0.1, 0.1],  # student major, teacher not, label non_human → added
            [0.1, 0.7, 0.1, 0.1],  # the same, but the teacher says major too → no
            [0.1, 0.7, 0.1, 0.1],  # the same, but the label is major → no
            [0.6, 0.3, 0.05, 0.05],  # student not major → no
        ],
        np.float32,
    )
    x = np.zeros((4, 1, 1, 4), np.float32)
    x[:, 0, 0, :] = rows
    teacher = np.array(
        [[0.5, 0.3, 0.1, 0.1], [0.2, 0.6, 0.1, 0.1], [0.5, 0.3, 0.1, 0.1], [0.7, 0.1, 0.1, 0.1]],
        np.float32,
    )
    labels = np.array([C.NON_HUMAN, C.NON_HUMAN, C.MAJOR, C.NONE], np.int8)
    added = student_mistakes(Student(), x, labels, teacher, Config())
    assert added.tolist() == [0]
