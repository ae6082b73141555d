"""The shipped model (presence.tflite) and the ensemble it was distilled from
(training/teacher/presence_round*.tflite): their contract, both runtimes agreeing on
each, and the ensemble that averages the teacher's members.

Agreement, precisely:
- numpy executor vs LiteRT's *reference* kernels (OpResolverType.BUILTIN_REF): the
  int8 outputs are identical on 200 inputs. Both implement TFLite's integer reference
  arithmetic, so anything else is a bug.
- numpy executor vs LiteRT's *default* kernels (what `prefer='litert'` runs, XNNPACK):
  XNNPACK requantises with a float32 multiply and round-to-nearest-even instead of
  TFLite's fixed-point double rounding, so single ops differ by ≤ 1 LSB on near-ties;
  through five conv layers those steps can add up to a few LSB on the logits. The
  decision (argmax) and probabilities must still agree closely — asserted below.
The LiteRT halves are skipped where ai_edge_litert is not importable (e.g. musl).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from uspd.detector import CLASS_NAMES as DETECTOR_CLASSES
from uspd.dsp.features import FEATURE_SHAPE
from uspd.model import (
    CLASS_NAMES,
    DEFAULT_MODEL_PATH,
    DEFAULT_MODEL_PATHS,
    Ensemble,
    ModelError,
    load_classifier,
    load_ensemble,
)
from uspd.model.bench import ms_per_decision, ms_per_inference
from uspd.model.classifier import Prefer, litert_available, shipped_rounds
from uspd.model.executor import NumpyExecutor
from uspd.model.flatbuffer import read_graph

# The mining ensemble the shipped model learnt from (scripts/train --distill starts there).
TEACHER = shipped_rounds(Path(__file__).resolve().parents[2] / "training" / "teacher")
MEMBERS = pytest.mark.parametrize("path", [*DEFAULT_MODEL_PATHS, *TEACHER], ids=lambda p: p.stem)
needs_litert = pytest.mark.skipif(
    not litert_available(), reason="ai_edge_litert not importable (no wheel for this platform)"
)
RUNTIMES = ["numpy", pytest.param("litert", marks=needs_litert)]


def feature_like_inputs(n: int, seed: int = 0) -> np.ndarray:
    """Scaled feature windows resembling real ones: noise floor plus Doppler streaks."""
    rng = np.random.default_rng(seed)
    t, bins, planes = FEATURE_SHAPE
    x = rng.uniform(0.0, 0.25, size=(n, t, bins, planes)).astype(np.float32)
    for k in range(n):
        for _ in range(rng.integers(0, 4)):
            b0 = int(rng.integers(0, bins - 8))
            t0 = int(rng.integers(0, t - 4))
            width = int(rng.integers(2, 12))
            x[k, t0:, b0 : b0 + width, int(rng.integers(planes))] += rng.uniform(0.2, 0.8)
        if rng.uniform() < 0.1:
            x[k] = rng.uniform(0.0, 1.0, size=(t, bins, planes))  # pure noise
    return np.clip(x, 0.0, 1.0)


@MEMBERS
def test_shipped_model_contract(path: Path) -> None:
    assert path.exists(), f"{path.name} must ship with the integration"
    clf = load_classifier(path, prefer="numpy")
    assert clf.input_shape == FEATURE_SHAPE
    assert clf.class_names == CLASS_NAMES == DETECTOR_CLASSES
    lo, hi = clf.input_range
    assert lo <= 0.0 and hi >= 1.0 - 2 * clf.input_scale  # [0, 1] features fit
    ops = {op.name for op in read_graph(path).operators}
    assert ops <= set(NumpyExecutor.SUPPORTED_OPS)
    assert path.stat().st_size < 200_000


def test_predict_shapes_and_probabilities() -> None:
    clf = load_classifier(prefer="numpy")
    x = feature_like_inputs(5, seed=1)
    one = clf.predict(x[0])
    batch = clf.predict(x)
    assert one.shape == (4,) and batch.shape == (5, 4)
    assert one.dtype == np.float32
    np.testing.assert_allclose(batch.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(one, batch[0])
    assert clf.runtime == "numpy"


def test_quantize_is_the_reference_formula() -> None:
    """round(x/scale)+zp, halves away from zero, non-finite mapped, clamped — exactly."""
    clf = load_classifier(prefer="numpy")
    rng = np.random.default_rng(5)
    x = rng.uniform(-3.0, 3.0, 4_000).astype(np.float32)
    ties = (np.arange(-300, 300) + 0.5).astype(np.float32) * np.float32(clf.input_scale)
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e30, -1e30], dtype=np.float32)
    x = np.concatenate([x, ties, special])
    scaled = x / np.float32(clf.input_scale)
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + np.float32(0.5))
    q = np.nan_to_num(rounded, nan=0.0, posinf=127.0, neginf=-128.0) + clf.input_zero_point
    np.testing.assert_array_equal(clf.quantize(x), np.clip(q, -128, 127).astype(np.int8))


@needs_litert
def test_litert_single_window_path_matches_batch() -> None:
    """The one-window fast path (streaming) returns what the per-row batch loop does."""
    clf = load_classifier(prefer="litert")
    q = clf.quantize(feature_like_inputs(3, seed=6))
    batch = clf.predict_quantized(q)
    for i in range(3):
        np.testing.assert_array_equal(clf.predict_quantized(q[i : i + 1])[0], batch[i])


@needs_litert
@MEMBERS
def test_numpy_executor_bit_exact_with_litert_reference_kernels(path: Path) -> None:
    x = feature_like_inputs(200, seed=2)
    ours = load_classifier(path, prefer="numpy").predict_int8(x)
    ref = load_classifier(path, prefer="litert", reference_kernels=True)
    assert ref.runtime == "litert"
    theirs = ref.predict_int8(x)
    assert ours.shape == theirs.shape == (200, 4)
    mismatches = np.argwhere(ours != theirs)
    assert mismatches.size == 0, f"{len(mismatches)} int8 outputs differ, e.g. {mismatches[:5]}"


@needs_litert
@MEMBERS
def test_numpy_executor_close_to_litert_default_kernels(path: Path) -> None:
    x = feature_like_inputs(200, seed=3)
    numpy_clf = load_classifier(path, prefer="numpy")
    litert_clf = load_classifier(path, prefer="litert")
    q_ours = numpy_clf.predict_int8(x).astype(np.int64)
    q_theirs = litert_clf.predict_int8(x).astype(np.int64)
    # See the module docstring: XNNPACK's float requantisation, a few LSB at most.
    assert np.abs(q_ours - q_theirs).max() <= 6
    p_ours, p_theirs = numpy_clf.predict(x), litert_clf.predict(x)
    assert np.abs(p_ours - p_theirs).max() < 0.1
    assert np.mean(p_ours.argmax(1) == p_theirs.argmax(1)) >= 0.97


def test_auto_runtime_choice() -> None:
    clf = load_classifier()
    assert clf.runtime == ("litert" if litert_available() else "numpy")


def test_bench_reports_a_figure() -> None:
    # Measured, not asserted (timing depends on the machine); must just work.
    assert ms_per_inference("numpy", repeats=5, warmup=1) > 0.0
    assert ms_per_decision("numpy", repeats=5, warmup=1) > 0.0


def test_one_distilled_model_ships_and_its_teacher_is_committed() -> None:
    assert DEFAULT_MODEL_PATHS == (DEFAULT_MODEL_PATH,)
    assert DEFAULT_MODEL_PATH.name == "presence.tflite"
    assert len(TEACHER) >= 2


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_ensemble_is_the_mean_of_its_members(runtime: Prefer) -> None:
    """Mean of the members' own probabilities, exactly, for a window and a batch (the
    ensemble runs members stacked on numpy and dequantises all members at once)."""
    ensemble = load_ensemble(TEACHER, prefer=runtime)
    members = [load_classifier(p, prefer=runtime) for p in TEACHER]
    assert (ensemble.stacked is not None) == (runtime == "numpy")
    x = feature_like_inputs(40, seed=8)
    expected = members[0].predict(x)
    for member in members[1:]:
        expected = expected + member.predict(x)
    expected = expected / np.float32(len(members))
    batch = ensemble.predict(x)
    np.testing.assert_array_equal(batch, expected)
    np.testing.assert_array_equal(ensemble.predict(x[7]), batch[7])
    np.testing.assert_array_equal(ensemble.predict_quantized(ensemble.quantize(x)), batch)
    np.testing.assert_allclose(batch.sum(axis=1), 1.0, rtol=1e-5)
    # The members disagree somewhere, or averaging them would be pointless.
    argmaxes = np.stack([m.predict(x).argmax(axis=1) for m in members])
    assert (argmaxes != argmaxes[0]).any()


def test_ensemble_of_one_equals_the_model() -> None:
    x = feature_like_inputs(10, seed=9)
    model = load_classifier(DEFAULT_MODEL_PATH, prefer="numpy")
    np.testing.assert_array_equal(Ensemble([model]).predict(x), model.predict(x))
    np.testing.assert_array_equal(load_ensemble(prefer="numpy").predict(x), model.predict(x))
    # One path (a str is a sequence too) is one model, not one per character.
    one = load_ensemble(str(DEFAULT_MODEL_PATH), prefer="numpy")
    assert len(one.members) == 1
    np.testing.assert_array_equal(one.predict(x), model.predict(x))


def test_ensemble_rejects_members_that_do_not_fit(tmp_path: Path) -> None:
    from .test_model_ops import _good_model

    with pytest.raises(ModelError, match="at least one"):
        Ensemble([])
    shipped = load_classifier(DEFAULT_MODEL_PATH, prefer="numpy")
    other = load_classifier(_good_model(), prefer="numpy")
    with pytest.raises(ModelError, match="differ"):
        Ensemble([shipped, other])
    with pytest.raises(ModelError, match="cannot read model file"):
        load_ensemble([DEFAULT_MODEL_PATH, tmp_path / "missing.tflite"], prefer="numpy")


def test_shipped_models_are_the_files_scripts_train_wrote(tmp_path: Path) -> None:
    """The files scripts/train writes are the one record of what ships: an ensemble's
    round files in round order, or the one distilled model."""
    from uspd.model.classifier import _shipped_models

    for name in ("presence_round10", "presence_round2", "presence_round1", "presence_roundx"):
        (tmp_path / f"{name}.tflite").write_bytes(b"")
    (tmp_path / "presence_round3.json").write_text("{}")
    assert [p.name for p in _shipped_models(tmp_path)] == [
        "presence_round1.tflite",
        "presence_round2.tflite",
        "presence_round10.tflite",
    ]
    (tmp_path / "presence.tflite").write_bytes(b"")
    assert [p.name for p in _shipped_models(tmp_path)] == ["presence.tflite"]
    assert _shipped_models(tmp_path / "missing") == ()
