"""The anchored fine-tune's data (training/finetune.py), without TensorFlow: the walker-free
render that matched pairs rest on, and which frames become pairs."""

from __future__ import annotations

import numpy as np

from training import corpus as C
from training import finetune as F


def test_walker_free_render_differs_only_once_the_walker_moves() -> None:
    """Removing the walker must leave every other actor's random stream alone (the
    renderer spawns one per actor position): before the walker sets off the two renders
    are the same scene, after it they differ, and the truth has no walker left."""
    spec = C.SceneSpec("mixed", 1, 6.0, 48000, 1)  # the walker comes in and leaves
    full = C.render_scene(spec)
    free = F.render_without_walker(spec)
    major = np.flatnonzero(full["labels"] == C.MAJOR)
    assert major.size and not (free["labels"] == C.MAJOR).any()
    # Bit for bit the same scene until 0.3 s before the walker's first major frame...
    before = major[0] - 6
    assert before > 20
    np.testing.assert_array_equal(free["features"][:before], full["features"][:before])
    # ...the walker plainly there while walking, and gone again once out of the room.
    diff = np.abs(free["features"].astype(np.float32) - full["features"].astype(np.float32))
    assert diff[major].max() > 6.0
    np.testing.assert_array_equal(free["features"][-10:], full["features"][-10:])


def _scene(shown_db: float, labels: list[int]) -> C.Scene:
    n = len(labels)
    features = np.full((n, 64, 2), -90.0, dtype=np.float16)
    features[:, 10:10 + F.SHOWN_BINS, 0] += np.float16(shown_db)  # fmt: skip
    return C.Scene(
        features=features,
        labels=np.array(labels, dtype=np.int8),
        present=np.ones(n, dtype=bool),
        carrier_ok=np.ones(n, dtype=bool),
        meta={"kind": "mixed"},
    )


def test_pairs_take_every_sixth_major_frame_where_the_walker_shows() -> None:
    context, n = 24, 60
    labels = [C.NON_HUMAN] * 30 + [C.MAJOR] * 30
    full = _scene(F.SHOWN_DB, labels)
    free = _scene(0.0, [C.NON_HUMAN] * n)
    x, y, count = F.pairs([full], [free], context)
    # Major from frame 30; shown on every frame, so 8 of the last 10 from the start:
    # ends 30, 36, ..., 54 → 5 pairs, each the full window then the walker-free one.
    assert count == 5 and len(x) == 10
    assert y.tolist() == [C.MAJOR] * 5 + [C.NON_HUMAN] * 5
    # Not shown (the walker-free render is as strong): no pairs at all.
    hidden = _scene(F.SHOWN_DB, labels)
    assert F.pairs([full, hidden], [free, hidden], context)[2] == 5
