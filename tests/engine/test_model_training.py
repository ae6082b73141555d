"""Training-side logic that needs no TensorFlow: labelling from truth, and mining."""

from __future__ import annotations

import numpy as np

from training import corpus as C
from training.train import Config, mine


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
