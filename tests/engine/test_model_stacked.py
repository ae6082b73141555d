"""The ensemble's stacked numpy pass: the same int8 outputs as each member run alone.

Random multi-layer models (uspd.model.writer, no TensorFlow) cover every stacked path:
a first convolution reading the shared input, a 3×3 convolution and a depthwise one on
stacked channels, max pools fused into the convolution before them, an average pool, a
flatten and dense layers. Members differ in weights, biases and all quantisation but the
input's, as mining rounds do. Where LiteRT is importable the models also run on its
reference kernels, so the fused max pool is checked against TFLite itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from uspd.model import Ensemble, ModelError, load_classifier
from uspd.model.executor import NumpyExecutor, pooled_convolutions
from uspd.model.flatbuffer import read_graph
from uspd.model.stacked import StackedExecutor
from uspd.model.writer import OpSpec, TensorSpec, build_tflite

from .test_model_agreement import TEACHER
from .test_model_ops import HAS_LITERT, run_litert_reference

IN_SHAPE = (1, 8, 12, 2)
IN_Q = (0.01, -20)  # shared by every member: mining rounds calibrate on the same windows


def _q(rng: np.random.Generator) -> tuple[list[float], list[int]]:
    return [float(rng.uniform(0.02, 0.2))], [int(rng.integers(-100, 0))]


def _weights(rng: np.random.Generator, shape: tuple[int, ...], dim: int) -> TensorSpec:
    channels = shape[dim]
    return TensorSpec(
        shape,
        scale=rng.uniform(0.002, 0.02, channels).tolist(),
        zero_point=[0] * channels,
        data=rng.integers(-127, 128, shape).astype(np.int8),
        quantized_dimension=dim,
    )


def _bias(rng: np.random.Generator, n: int) -> TensorSpec:
    return TensorSpec((n,), "INT32", data=rng.integers(-3000, 3000, n).astype(np.int32))


def random_member(
    seed: int,
    *,
    dense_per_tensor: bool = False,
    relu: str = "RELU",
    in_q: tuple[float, int] = IN_Q,
) -> bytes:
    """input → conv 3×3 (4) → max pool → depthwise ×2 → conv 3×3 (5) → max pool →
    average pool → reshape → dense 6 → dense 3; activations quantised per seed."""
    rng = np.random.default_rng(seed)
    t: list[TensorSpec] = [TensorSpec(IN_SHAPE, scale=[in_q[0]], zero_point=[in_q[1]])]
    ops: list[OpSpec] = []

    def add(spec: TensorSpec) -> int:
        t.append(spec)
        return len(t) - 1

    def act(shape: tuple[int, ...]) -> int:
        scale, zp = _q(rng)
        return add(TensorSpec(shape, scale=scale, zero_point=zp))

    def like(x: int, shape: tuple[int, ...]) -> int:  # pools and reshapes keep quantisation
        return add(TensorSpec(shape, scale=t[x].scale, zero_point=t[x].zero_point))

    def op(name: str, inputs: list[int], out: int, **options: Any) -> int:
        ops.append(OpSpec(name, inputs, [out], options))
        return out

    def weighted(
        name: str, x: int, filt: tuple[int, ...], dim: int, out: tuple[int, ...], **options: Any
    ) -> int:  # a conv or depthwise layer with per-channel weights and a bias
        weights, bias = add(_weights(rng, filt, dim)), add(_bias(rng, filt[dim]))
        return op(name, [x, weights, bias], act(out), **options)

    def max_pool(x: int, out: tuple[int, ...]) -> int:
        pool = {"padding": "VALID", "stride_w": 2, "stride_h": 2, "filter_w": 2, "filter_h": 2}
        return op("MAX_POOL_2D", [x], like(x, out), **pool)

    conv = {"padding": "SAME", "stride_w": 1, "stride_h": 1, "activation": relu}
    x = max_pool(weighted("CONV_2D", 0, (4, 3, 3, 2), 0, (1, 8, 12, 4), **conv), (1, 4, 6, 4))
    x = weighted("DEPTHWISE_CONV_2D", x, (1, 3, 3, 8), 3, (1, 4, 6, 8), depth_multiplier=2, **conv)
    x = max_pool(weighted("CONV_2D", x, (5, 3, 3, 8), 0, (1, 4, 6, 5), **conv), (1, 2, 3, 5))
    x = op(
        "AVERAGE_POOL_2D",
        [x],
        like(x, (1, 1, 3, 5)),
        padding="VALID",
        stride_w=1,
        stride_h=2,
        filter_w=1,
        filter_h=2,
    )
    shape_const = add(TensorSpec((2,), "INT32", data=np.array([1, 15], np.int32)))
    x = op(
        "RESHAPE",
        [x, shape_const],
        like(x, (1, 15)),
    )
    dense = (
        TensorSpec((6, 15), scale=[0.01], data=rng.integers(-127, 128, (6, 15)).astype(np.int8))
        if dense_per_tensor
        else _weights(rng, (6, 15), 0)
    )
    x = op("FULLY_CONNECTED", [x, add(dense), add(_bias(rng, 6))], act((1, 6)), activation=relu)
    x = op("FULLY_CONNECTED", [x, add(_weights(rng, (3, 6), 0))], act((1, 3)))
    return build_tflite(t, ops, [0], [x])


def executors(models: list[bytes]) -> list[NumpyExecutor]:
    return [NumpyExecutor(read_graph(m)) for m in models]


def random_input(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, (n, *IN_SHAPE[1:])).astype(np.int8)


def test_stacked_equals_members_on_random_models() -> None:
    models = [
        random_member(1),
        random_member(2, dense_per_tensor=True),
        random_member(3, relu="RELU6"),
    ]
    members = executors(models)
    stacked = StackedExecutor(members)
    x = random_input(60, seed=4)
    expected = np.stack([e.run(x)[0] for e in members])
    np.testing.assert_array_equal(stacked.run(x), expected)
    np.testing.assert_array_equal(stacked.run(x[5:6]), expected[:, 5:6])
    # Enough outputs off the clamps that a wrong channel's constants would show.
    assert len(np.unique(expected)) > 20


def test_max_pools_fuse_into_their_convolutions() -> None:
    """Both conv → max pool pairs are fused (the average pool is not: averaging does not
    commute with requantising), and the fused executor still matches TFLite."""
    model = random_member(5)
    executor = NumpyExecutor(read_graph(model))
    assert sorted(pooled_convolutions(executor.graph, executor.specs)) == [0, 3]
    if HAS_LITERT:
        x = random_input(40, seed=6)
        np.testing.assert_array_equal(executor.run(x)[0], run_litert_reference(model, x))


def test_a_convolution_read_twice_is_not_fused() -> None:
    """A conv output that is also a model output must be produced as is."""
    rng = np.random.default_rng(7)
    t = [
        TensorSpec(IN_SHAPE, scale=[IN_Q[0]], zero_point=[IN_Q[1]]),
        _weights(rng, (3, 3, 3, 2), 0),
        TensorSpec((1, 8, 12, 3), scale=[0.05], zero_point=[-3]),
        TensorSpec((1, 4, 6, 3), scale=[0.05], zero_point=[-3]),
    ]
    pool = {"padding": "VALID", "stride_w": 2, "stride_h": 2, "filter_w": 2, "filter_h": 2}
    ops = [
        OpSpec("CONV_2D", [0, 1], [2], {"padding": "SAME", "stride_w": 1, "stride_h": 1}),
        OpSpec("MAX_POOL_2D", [2], [3], pool),
    ]
    executor = NumpyExecutor(read_graph(build_tflite(t, ops, [0], [3, 2])))
    assert pooled_convolutions(executor.graph, executor.specs) == {}


def test_teacher_ensemble_stacks_and_matches_its_members() -> None:
    members = [load_classifier(p, prefer="numpy") for p in TEACHER]
    ensemble = Ensemble(members)
    assert ensemble.stacked is not None
    rng = np.random.default_rng(8)
    x = rng.integers(-128, 128, (200, *members[0].input_shape)).astype(np.int8)
    got = ensemble.stacked.run(x)
    for m, member in enumerate(members):
        assert member.numpy_executor is not None
        np.testing.assert_array_equal(got[m], member.numpy_executor.run(x)[0])


def test_graphs_that_differ_are_not_stacked() -> None:
    a = random_member(1)
    with pytest.raises(ModelError, match="differ in structure"):
        StackedExecutor(executors([a, random_member(2, in_q=(0.02, -20))]))
    shipped = NumpyExecutor(read_graph(TEACHER[0]))
    with pytest.raises(ModelError, match="differ in structure"):
        StackedExecutor([shipped, *executors([a])])
    with pytest.raises(ModelError, match="nothing to stack"):
        StackedExecutor([])


def test_ensemble_runs_unstackable_members_one_by_one() -> None:
    """A graph with an op the stacked pass lacks (SOFTMAX) still ensembles, by member."""
    from .test_model_ops import single_op

    softmax = single_op(
        "SOFTMAX", (1, 4), (1, 4), in_q=(0.1, 0), out_q=(1 / 256, -128), options={"beta": 1.0}
    )
    with pytest.raises(ModelError, match="SOFTMAX cannot run stacked"):
        StackedExecutor(executors([softmax, softmax]))
    members = [load_classifier(softmax, prefer="numpy", class_names=("a", "b", "c", "d"))] * 2
    ensemble = Ensemble(members)
    assert ensemble.stacked is None
    x = np.random.default_rng(9).uniform(-5, 5, (10, 4)).astype(np.float32)
    np.testing.assert_array_equal(ensemble.predict(x), members[0].predict(x))
