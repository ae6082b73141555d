"""Numpy executor, op by op: hand-computed tiny cases, rounding helpers, bad models.

Models are built with uspd.model.writer (no TensorFlow needed). Where LiteRT is
importable the same single-op models are also run by its *reference* kernels and must
match bit for bit (SOFTMAX: ≤ 1 LSB, see uspd/model/softmax.py for why).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from uspd.model import ModelError, load_classifier
from uspd.model.classifier import litert_available
from uspd.model.executor import NumpyExecutor
from uspd.model.flatbuffer import read_graph
from uspd.model.quant import (
    Requantizer,
    multiply_by_quantized_multiplier,
    multiply_by_quantized_multiplier_single,
    quantize_multiplier,
    quantize_multipliers,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
)
from uspd.model.writer import OpSpec, TensorSpec, build_tflite

HAS_LITERT = litert_available()


def run_numpy(model: bytes, x: np.ndarray) -> np.ndarray:
    return NumpyExecutor(read_graph(model)).run(x)[0]


def run_litert_reference(model: bytes, x: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    rows = []
    for row in x:
        it.set_tensor(inp["index"], row[np.newaxis])
        it.invoke()
        rows.append(np.array(it.get_tensor(out["index"])[0]))
    return np.stack(rows)


def single_op(
    op: str,
    in_shape: tuple[int, ...],
    out_shape: tuple[int, ...],
    *,
    in_q: tuple[float, int] = (0.05, 3),
    out_q: tuple[float, int] = (0.04, -5),
    consts: list[TensorSpec] | None = None,
    options: dict[str, Any] | None = None,
) -> bytes:
    """input, *consts → one op → output."""
    consts = consts or []
    tensors = [
        TensorSpec(in_shape, scale=[in_q[0]], zero_point=[in_q[1]]),
        *consts,
        TensorSpec(out_shape, scale=[out_q[0]], zero_point=[out_q[1]]),
    ]
    out_index = len(tensors) - 1
    spec = OpSpec(op, list(range(out_index)), [out_index], options or {})
    return build_tflite(tensors, [spec], [0], [out_index])


def random_input(rng: np.random.Generator, n: int, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(-128, 128, size=(n, *shape[1:])).astype(np.int8)


# ------------------------------------------------------------------ rounding helpers
def test_quantize_multiplier_known_values() -> None:
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    assert quantize_multiplier(0.125) == (1 << 30, -2)
    assert quantize_multiplier(0.0) == (0, 0)
    # 0.75 = 0.75·2^0: significand round(0.75·2^31)
    assert quantize_multiplier(0.75) == (1610612736, 0)
    # A fraction that rounds up to 2^31 renormalises to 2^30 with shift + 1.
    assert quantize_multiplier(1.0 - 1e-12) == (1 << 30, 1)


def test_rounding_helpers_match_gemmlowp_definitions() -> None:
    a = np.array([5, -5, 1 << 30, -(1 << 30), 7], np.int64)
    m = np.full(5, 1 << 30, np.int64)  # 0.5 in Q31: doubling high mul halves
    # (a·2^30 + nudge) / 2^31 truncated: 2.5 → 3 (half up), −2.5 → −2 (toward +inf)
    assert saturating_rounding_doubling_high_mul(a, m).tolist() == [3, -2, 1 << 29, -(1 << 29), 4]
    x = np.array([5, -5, 6, -6, 7, -7], np.int64)
    # /4: 1.25 → 1, −1.25 → −1, 1.5 → 2, −1.5 → −2 (away), 1.75 → 2, −1.75 → −2
    assert rounding_divide_by_pot(x, np.int64(2)).tolist() == [1, -1, 2, -2, 2, -2]
    extremes = np.array([-(2**31)], np.int64)
    assert saturating_rounding_doubling_high_mul(extremes, extremes).tolist() == [2**31 - 1]


def test_requantizer_equals_literal_port() -> None:
    """Bias, requantisation and zero point folded into one shift equal TFLite's steps."""
    rng = np.random.default_rng(7)
    for _ in range(50):
        reals = rng.uniform(1e-6, 2.0, 8) * 10.0 ** rng.integers(-4, 1, 8)
        mult, shift = quantize_multipliers(reals)
        x = rng.integers(-(2**24), 2**24, (300, 8)).astype(np.int64)
        bias = rng.integers(-(2**20), 2**20, 8)
        zp = rng.integers(-128, 128, 8)
        expected = multiply_by_quantized_multiplier(x + bias, mult, shift) + zp
        requant = Requantizer(mult, shift, bias=bias, zero_point=zp, lo=-(2**40))
        assert np.array_equal(requant.scale(x.astype(np.float64)), expected)
        requant = Requantizer(mult, shift, bias=bias, zero_point=zp)
        assert np.array_equal(requant(x), np.clip(expected, -128, 127).astype(np.int8))
        # A ReLU output stage (lo at the zero point) skips the correction below zero.
        relu = Requantizer(mult, shift, bias=bias, zero_point=zp, lo=zp)
        assert np.array_equal(relu(x), np.clip(expected, zp, 127).astype(np.int8))
        single = multiply_by_quantized_multiplier_single(x + bias, mult, shift) + zp
        requant = Requantizer(mult, shift, bias=bias, zero_point=zp, single_rounding=True)
        assert np.array_equal(requant.scale(x), single)
    # Every tie pattern for small accumulators, biases moving the sign change around,
    # shifts to the left and a zero multiplier.
    x = np.arange(-40000, 40000, dtype=np.int64)[:, None]
    for m in (0, 1 << 30, (1 << 30) + 1, 1518500250, 2**31 - 1):
        for s in range(-18, 3):
            for b in (0, 1, -1, 777):
                mult, shift = np.array([m], np.int64), np.array([s], np.int64)
                expected = multiply_by_quantized_multiplier(x + b, mult, shift) - 3
                requant = Requantizer(mult, shift, bias=np.array([b]), zero_point=-3, lo=-(2**40))
                assert np.array_equal(requant.scale(x), expected), (m, s, b)
                relu = Requantizer(mult, shift, bias=np.array([b]), zero_point=-3, lo=-3)
                assert np.array_equal(relu(x), np.clip(expected, -3, 127)), (m, s, b)
    # Per-channel clamp bounds (an ensemble's stacked channels each keep their own).
    requant = Requantizer(
        np.array([1 << 30, 1 << 30]), np.array([0, 0]), lo=np.array([-5, 0]), hi=np.array([5, 9])
    )
    got = requant(np.array([[-40, -40], [40, 40]], np.int64))
    assert got.tolist() == [[-5, 0], [5, 9]]


def test_requantizer_reuses_buffers_only_for_small_calls() -> None:
    """Streaming calls reuse working arrays; a training-sized batch is not held on to."""
    requant = Requantizer(np.array([1 << 30]), np.array([-3]))
    small = requant(np.arange(64, dtype=np.int64))
    assert requant(np.arange(64, dtype=np.int64)).tolist() == small.tolist()
    assert len(requant._scratch) == 1
    big = requant(np.ones(1 << 20, dtype=np.int64))
    assert big.shape == (1 << 20,) and len(requant._scratch) == 1


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "dilation", "pads"),
    [
        ((5, 7), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1)),
        ((7, 9), (3, 3), (2, 2), (1, 1), (1, 1, 1, 1)),
        ((8, 8), (3, 3), (1, 1), (2, 2), (2, 2, 2, 2)),
        ((6, 5), (2, 3), (2, 1), (1, 1), (0, 0, 0, 0)),
        ((4, 4), (3, 3), (1, 1), (1, 1), (0, 2, 2, 0)),
    ],
)
def test_im2col_equals_windows_of_the_padded_input(
    size: tuple[int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    pads: tuple[int, int, int, int],
) -> None:
    """The buffer-reusing im2col copies each tap's in-image part; padding stays zero."""
    from uspd.model.executor import Geometry, Im2col

    top, bottom, left, right = pads
    out_hw = tuple(
        (size[a] + pads[2 * a] + pads[2 * a + 1] - dilation[a] * (kernel[a] - 1) - 1) // stride[a]
        + 1
        for a in range(2)
    )
    g = Geometry(kernel, stride, dilation, out_hw, pads)  # type: ignore[arg-type]
    x = np.random.default_rng(11).normal(size=(2, 3, *size))
    padded = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    (oh, ow), (sh, sw), (dh, dw) = out_hw, stride, dilation
    rows = [slice(k * dh, k * dh + (oh - 1) * sh + 1, sh) for k in range(kernel[0])]
    cols = [slice(k * dw, k * dw + (ow - 1) * sw + 1, sw) for k in range(kernel[1])]
    expected = np.stack([padded[:, :, r, c].transpose(1, 0, 2, 3) for r in rows for c in cols])
    im2col = Im2col(g)
    np.testing.assert_array_equal(im2col(x), expected)
    np.testing.assert_array_equal(im2col(x * 2.0), expected * 2.0)  # reused buffer


# ------------------------------------------------------------------ hand-computed ops
def test_conv2d_hand_computed() -> None:
    # input scale 0.5 zp 1; filter scale 0.25; bias scale 0.125; output scale 1 zp 0.
    # effective multiplier 0.5·0.25/1 = 0.125 → result = round((Σ(x−1)·w + bias) / 8).
    x = np.arange(1, 10, dtype=np.int8).reshape(1, 3, 3, 1)
    w = np.array([1, 2, 3, 4], np.int8).reshape(1, 2, 2, 1)
    model = single_op(
        "CONV_2D",
        (1, 3, 3, 1),
        (1, 2, 2, 1),
        in_q=(0.5, 1),
        out_q=(1.0, 0),
        consts=[
            TensorSpec((1, 2, 2, 1), scale=[0.25], zero_point=[0], data=w),
            TensorSpec((1,), "INT32", scale=[0.125], data=np.array([10], np.int32)),
        ],
        options={"padding": "VALID", "stride_w": 1, "stride_h": 1},
    )
    # x−1 = [[0,1,2],[3,4,5],[6,7,8]]; windows·[1,2,3,4] + 10 = 37, 47, 74, 77
    # /8 = 4.625, 5.875, 9.25, 9.625 → 5, 6, 9, 10
    out = run_numpy(model, x)
    assert out.reshape(-1).tolist() == [5, 6, 9, 10]


def test_conv2d_same_padding_and_relu_clamp() -> None:
    # 1×1 input, 3×3 filter of ones, SAME: only the centre tap sees data, pads add nothing.
    w = np.ones((2, 3, 3, 1), np.int8)
    w[1] *= -1
    model = single_op(
        "CONV_2D",
        (1, 1, 1, 1),
        (1, 1, 1, 2),
        in_q=(1.0, -10),
        out_q=(1.0, -3),
        consts=[TensorSpec((2, 3, 3, 1), scale=[1.0, 1.0], zero_point=[0, 0], data=w)],
        options={"padding": "SAME", "stride_w": 1, "stride_h": 1, "activation": "RELU"},
    )
    out = run_numpy(model, np.array([[[[10]]]], np.int8))
    # (10 − (−10))·1 = 20 → 20 + zp(−3) = 17; channel 1: −20 − 3 = −23 → ReLU floor zp = −3
    assert out.reshape(-1).tolist() == [17, -3]


def test_depthwise_multiplier_two_hand_computed() -> None:
    # 2 input channels, depth multiplier 2 → out channel k uses input channel k // 2.
    x = np.array([[[[4, -2]]]], np.int8)  # (1,1,1,2), zp 0, scale 1
    w = np.array([1, 2, 3, 4], np.int8).reshape(1, 1, 1, 4)
    model = single_op(
        "DEPTHWISE_CONV_2D",
        (1, 1, 1, 2),
        (1, 1, 1, 4),
        in_q=(1.0, 0),
        out_q=(1.0, 0),
        consts=[
            TensorSpec(
                (1, 1, 1, 4), scale=[1.0] * 4, zero_point=[0] * 4, data=w, quantized_dimension=3
            )
        ],
        options={"padding": "VALID", "stride_w": 1, "stride_h": 1, "depth_multiplier": 2},
    )
    assert run_numpy(model, x).reshape(-1).tolist() == [4, 8, -6, -8]


def test_fully_connected_per_tensor_hand_computed() -> None:
    x = np.array([[10, 20, 30]], np.int8)
    w = np.array([[1, 0, -1], [2, 2, 2]], np.int8)
    model = single_op(
        "FULLY_CONNECTED",
        (1, 3),
        (1, 2),
        in_q=(0.5, 10),
        out_q=(1.0, 1),
        consts=[TensorSpec((2, 3), scale=[0.5], data=w)],
    )
    # (x − 10) = [0, 10, 20]; acc = [−20, 60]; ×0.25 = [−5, 15]; + zp 1 = [−4, 16]
    # (FC rounds once, (acc·m + 2^(30−shift)) >> (31−shift); no ties here.)
    assert run_numpy(model, x).reshape(-1).tolist() == [-4, 16]


def test_pools_hand_computed() -> None:
    x = np.array([1, 2, -1, -2, 5, 6, -7, 8], np.int8).reshape(1, 2, 4, 1)
    pool = {"padding": "VALID", "stride_w": 2, "stride_h": 2, "filter_w": 2, "filter_h": 2}
    same_q = {"in_q": (1.0, 0), "out_q": (1.0, 0)}
    mx = single_op("MAX_POOL_2D", (1, 2, 4, 1), (1, 1, 2, 1), options=pool, **same_q)
    assert run_numpy(mx, x).reshape(-1).tolist() == [6, 8]
    av = single_op("AVERAGE_POOL_2D", (1, 2, 4, 1), (1, 1, 2, 1), options=pool, **same_q)
    # (1+2+5+6)/4 = 3.5 → 4 (half away); (−1−2−7+8)/4 = −0.5 → −1
    assert run_numpy(av, x).reshape(-1).tolist() == [4, -1]
    # SAME padding, 3×3 window: edge windows average only the in-image taps.
    pool3 = {"padding": "SAME", "stride_w": 1, "stride_h": 1, "filter_w": 3, "filter_h": 1}
    av3 = single_op("AVERAGE_POOL_2D", (1, 1, 4, 1), (1, 1, 4, 1), options=pool3, **same_q)
    y = np.array([10, 1, 0, -5], np.int8).reshape(1, 1, 4, 1)
    # [10,1]/2 = 5.5 → 6; [10,1,0]/3 = 3.67 → 4; [1,0,−5]/3 = −1.33 → −1; [0,−5]/2 = −2.5 → −3
    assert run_numpy(av3, y).reshape(-1).tolist() == [6, 4, -1, -3]


def test_reshape_keeps_nhwc_order() -> None:
    x = np.arange(12, dtype=np.int8).reshape(1, 2, 3, 2)
    model = single_op(
        "RESHAPE",
        (1, 2, 3, 2),
        (1, 12),
        in_q=(1.0, 0),
        out_q=(1.0, 0),
        options={"new_shape": [1, 12]},
    )
    assert run_numpy(model, x).reshape(-1).tolist() == list(range(12))


def test_add_matches_float_within_one_lsb() -> None:
    tensors = [
        TensorSpec((1, 4), scale=[0.1], zero_point=[0]),
        TensorSpec(
            (1, 4), scale=[0.05], zero_point=[2], data=np.array([[2, 12, -38, 100]], np.int8)
        ),
        TensorSpec((1, 4), scale=[0.2], zero_point=[-1]),
    ]
    model = build_tflite(tensors, [OpSpec("ADD", [0, 1], [2])], [0], [2])
    x = np.array([[10, -20, 30, 127]], np.int8)
    got = run_numpy(model, x).reshape(-1)
    real = x.reshape(-1) * 0.1 + (np.array([2, 12, -38, 100]) - 2) * 0.05
    expected = np.clip(np.round(real / 0.2) - 1, -128, 127)
    assert np.max(np.abs(got - expected)) <= 1


def test_softmax_matches_float() -> None:
    model = single_op(
        "SOFTMAX", (1, 5), (1, 5), in_q=(0.1, 0), out_q=(1 / 256, -128), options={"beta": 1.0}
    )
    x = np.array([[0, 10, 20, -30, 5]], np.int8)
    got = run_numpy(model, x).reshape(-1).astype(np.int64)
    v = x.reshape(-1) * 0.1
    p = np.exp(v - v.max()) / np.exp(v - v.max()).sum()
    assert np.max(np.abs(got - (np.round(p * 256) - 128))) <= 1


# ------------------------------------------------------------------ vs LiteRT reference
def _random_single_op_models(rng: np.random.Generator) -> list[tuple[str, bytes, tuple[int, ...]]]:
    conv_w = rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8)
    dw_w = rng.integers(-127, 128, (1, 3, 3, 6)).astype(np.int8)
    fc_w = rng.integers(-127, 128, (5, 24)).astype(np.int8)
    scales4 = rng.uniform(0.002, 0.02, 4).tolist()
    scales6 = rng.uniform(0.002, 0.02, 6).tolist()
    scales5 = rng.uniform(0.002, 0.02, 5).tolist()
    bias4 = rng.integers(-2000, 2000, 4).astype(np.int32)
    return [
        (
            "conv stride 2 SAME relu6",
            single_op(
                "CONV_2D",
                (1, 7, 9, 3),
                (1, 4, 5, 4),
                in_q=(0.05, 3),
                out_q=(0.03, -20),
                consts=[
                    TensorSpec((4, 3, 3, 3), scale=scales4, zero_point=[0] * 4, data=conv_w),
                    TensorSpec((4,), "INT32", scale=[0.05 * s for s in scales4], data=bias4),
                ],
                options={"padding": "SAME", "stride_w": 2, "stride_h": 2, "activation": "RELU6"},
            ),
            (1, 7, 9, 3),
        ),
        (
            "depthwise x2 dilated",
            single_op(
                "DEPTHWISE_CONV_2D",
                (1, 8, 8, 3),
                (1, 8, 8, 6),
                in_q=(0.05, -7),
                out_q=(0.02, 4),
                consts=[
                    TensorSpec(
                        (1, 3, 3, 6),
                        scale=scales6,
                        zero_point=[0] * 6,
                        data=dw_w,
                        quantized_dimension=3,
                    )
                ],
                options={
                    "padding": "SAME",
                    "stride_w": 1,
                    "stride_h": 1,
                    "depth_multiplier": 2,
                    "dilation_w": 2,
                    "dilation_h": 2,
                    "activation": "RELU",
                },
            ),
            (1, 8, 8, 3),
        ),
        (
            "fully connected per channel",
            single_op(
                "FULLY_CONNECTED",
                (1, 24),
                (1, 5),
                in_q=(0.05, 11),
                out_q=(0.05, -3),
                consts=[TensorSpec((5, 24), scale=scales5, zero_point=[0] * 5, data=fc_w)],
            ),
            (1, 24),
        ),
        (
            "fully connected per tensor",
            single_op(
                "FULLY_CONNECTED",
                (1, 24),
                (1, 5),
                in_q=(0.05, 11),
                out_q=(0.07, 2),
                consts=[TensorSpec((5, 24), scale=[0.011], data=fc_w)],
            ),
            (1, 24),
        ),
        (
            "max pool SAME",
            single_op(
                "MAX_POOL_2D",
                (1, 5, 7, 2),
                (1, 3, 4, 2),
                in_q=(0.05, 3),
                out_q=(0.05, 3),
                options={
                    "padding": "SAME",
                    "stride_w": 2,
                    "stride_h": 2,
                    "filter_w": 3,
                    "filter_h": 3,
                },
            ),
            (1, 5, 7, 2),
        ),
        (
            # Tiles = stride, VALID: the product form; the last row and column are
            # covered by no tile (cropped).
            "average pool tiled, VALID",
            single_op(
                "AVERAGE_POOL_2D",
                (1, 7, 9, 3),
                (1, 2, 4, 3),
                in_q=(0.05, -7),
                out_q=(0.05, -7),
                options={
                    "padding": "VALID",
                    "stride_w": 2,
                    "stride_h": 3,
                    "filter_w": 2,
                    "filter_h": 3,
                },
            ),
            (1, 7, 9, 3),
        ),
        (
            "average pool SAME",
            single_op(
                "AVERAGE_POOL_2D",
                (1, 5, 7, 2),
                (1, 3, 4, 2),
                in_q=(0.05, 3),
                out_q=(0.05, 3),
                options={
                    "padding": "SAME",
                    "stride_w": 2,
                    "stride_h": 2,
                    "filter_w": 3,
                    "filter_h": 3,
                },
            ),
            (1, 5, 7, 2),
        ),
    ]


@pytest.mark.skipif(not HAS_LITERT, reason="ai_edge_litert not importable (musl / not installed)")
def test_single_ops_bit_exact_with_litert_reference() -> None:
    rng = np.random.default_rng(3)
    for label, model, shape in _random_single_op_models(rng):
        x = random_input(rng, 40, shape)
        ours, ref = run_numpy(model, x), run_litert_reference(model, x)
        assert np.array_equal(ours, ref), f"{label}: {np.argwhere(ours != ref)[:5]}"


@pytest.mark.skipif(not HAS_LITERT, reason="ai_edge_litert not importable (musl / not installed)")
def test_softmax_within_one_lsb_of_litert() -> None:
    rng = np.random.default_rng(4)
    model = single_op(
        "SOFTMAX", (1, 6), (1, 6), in_q=(0.07, 5), out_q=(1 / 256, -128), options={"beta": 1.0}
    )
    x = random_input(rng, 200, (1, 6))
    diff = np.abs(run_numpy(model, x).astype(int) - run_litert_reference(model, x))
    assert diff.max() <= 1


def test_batch_equals_single_rows() -> None:
    rng = np.random.default_rng(5)
    for label, model, shape in _random_single_op_models(rng):
        x = random_input(rng, 6, shape)
        batch = run_numpy(model, x)
        rows = np.concatenate([run_numpy(model, x[i : i + 1]) for i in range(6)])
        assert np.array_equal(batch, rows), label


# ------------------------------------------------------------------ bad models
def _good_model() -> bytes:
    return single_op(
        "FULLY_CONNECTED",
        (1, 3),
        (1, 4),
        consts=[TensorSpec((4, 3), scale=[0.01], data=np.ones((4, 3), np.int8))],
    )


def test_truncated_file_is_a_clear_error(tmp_path: Path) -> None:
    model = _good_model()
    for cut in (10, len(model) // 2, len(model) - 9):
        path = tmp_path / f"cut{cut}.tflite"
        path.write_bytes(model[:cut])
        with pytest.raises(ModelError, match=r"truncated|corrupt|not a TFLite"):
            load_classifier(path, prefer="numpy")


def test_not_a_model_and_missing_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"RIFF....WAVEfmt " * 8)
    with pytest.raises(ModelError, match="not a TFLite model"):
        load_classifier(junk, prefer="numpy")
    with pytest.raises(ModelError, match="cannot read model file"):
        load_classifier(tmp_path / "missing.tflite", prefer="numpy")


def test_unsupported_op_names_the_op() -> None:
    model = single_op("TANH", (1, 4), (1, 4), out_q=(1 / 128, 0))
    with pytest.raises(ModelError, match=r"op 0 TANH is not supported"):
        load_classifier(model, prefer="numpy", class_names=("a", "b", "c", "d"))


def test_float_model_rejected() -> None:
    tensors = [
        TensorSpec((1, 3), "FLOAT32"),
        TensorSpec((4, 3), "FLOAT32", data=np.ones((4, 3), np.float32)),
        TensorSpec((1, 4), "FLOAT32"),
    ]
    model = build_tflite(tensors, [OpSpec("FULLY_CONNECTED", [0, 1], [2])], [0], [2])
    with pytest.raises(ModelError, match="full-integer int8"):
        load_classifier(model, prefer="numpy")


def test_class_count_mismatch_and_bad_input_shape() -> None:
    with pytest.raises(ModelError, match="4 outputs but 2 class names"):
        load_classifier(_good_model(), prefer="numpy", class_names=("a", "b"))
    clf = load_classifier(_good_model(), prefer="numpy")
    with pytest.raises(ValueError, match="must have shape"):
        clf.predict(np.zeros(5, np.float32))
    with pytest.raises(ValueError, match="far outside"):
        clf.predict(np.full(3, -120.0, np.float32))  # dB where scaled features belong


def test_litert_requested_but_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from uspd.model import classifier

    monkeypatch.setattr(classifier, "litert_available", lambda: False)
    with pytest.raises(ModelError, match="ai_edge_litert is not importable"):
        load_classifier(_good_model(), prefer="litert")
    assert load_classifier(_good_model(), prefer="auto").runtime == "numpy"


def test_auto_falls_back_to_numpy_when_litert_breaks(monkeypatch: pytest.MonkeyPatch) -> None:
    from uspd.model import classifier

    class Broken:
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise ModelError("LiteRT cannot load the model: simulated")

    monkeypatch.setattr(classifier, "litert_available", lambda: True)
    monkeypatch.setattr(classifier, "_LiteRTBackend", Broken)
    assert load_classifier(_good_model(), prefer="auto").runtime == "numpy"
    with pytest.raises(ModelError, match="simulated"):
        load_classifier(_good_model(), prefer="litert")


@pytest.mark.parametrize(
    ("a_shape", "b_shape"),
    [
        ((14, 18), (18, 4608)),  # the first convolution of a 3-frame batch: cut by columns
        ((4608, 18), (18, 14)),  # tall: cut by rows
        ((3, 14, 18), (3, 18, 2000)),  # a stack (ensembles)
        ((1, 600, 500), (2, 500, 4)),  # broadcast rows against members' weights
        ((4, 5), (5, 6)),  # small: one product
    ],
)
def test_single_threaded_product_is_exact(
    a_shape: tuple[int, ...], b_shape: tuple[int, ...]
) -> None:
    """`product` cuts big products so BLAS keeps to one thread; integer sums make every
    cut exact, so it must equal one `matmul` bit for bit."""
    from uspd.model.executor import product

    rng = np.random.default_rng(5)
    a = rng.integers(-255, 256, a_shape).astype(np.float32)
    b = rng.integers(-128, 128, b_shape).astype(np.float32)
    assert np.array_equal(product(a, b), np.matmul(a, b))
