"""Matrix products that stay single-threaded and do not depend on how a stream is cut.

OpenBLAS multithreads a GEMM above ≈2.6e5 multiply-adds; on a 2-core Pi its spinning
worker threads then starve the rest of Home Assistant (and, measured here, slow this
chain 10×). Products are kept below that size.

BLAS also picks its kernel (and so its rounding) by the matrix shape, so a row's result
can differ in the last bit with the number of rows multiplied alongside it. In a
streaming chain that makes output depend on how audio was chunked, and adaptive stages
downstream (the music canceller's per-bin gates) can turn a 1e-16 difference into a
different decision. `fixed_rows_matmul` always multiplies the same number of rows, so
each row's result is bit-identical however the stream was cut.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

SINGLE_THREAD_GEMM = 196_608  # OpenBLAS goes multithreaded above M·N·K = 65536·4


@cache
def fixed_rows(inner: int, columns: int) -> int:
    """Rows per product for a (·, inner) @ (inner, columns) stream: the largest power of
    two keeping each product single-threaded (a function of the matrix shape only)."""
    rows = 8
    while 2 * rows * inner * columns <= SINGLE_THREAD_GEMM:
        rows *= 2
    return rows


def fixed_rows_matmul[T: np.generic](
    a: npt.NDArray[T], b: npt.NDArray[Any], out: npt.NDArray[T]
) -> npt.NDArray[T]:
    """out = a @ b computed in products of exactly `fixed_rows` rows (tail zero-padded)."""
    size = fixed_rows(b.shape[0], b.shape[1])
    rows = a.shape[0]
    whole = rows - rows % size
    for start in range(0, whole, size):
        np.matmul(a[start : start + size], b, out=out[start : start + size])
    if whole < rows:
        scratch = np.zeros((size, a.shape[1]), dtype=a.dtype)
        scratch[: rows - whole] = a[whole:]
        out[whole:] = (scratch @ b)[: rows - whole]
    return out


def pairwise_sum_last(z: npt.NDArray[np.complex128]) -> npt.NDArray[np.complex128]:
    """`z.sum(axis=-1)` bit for bit, as a few whole-array adds over the short last axis.

    numpy reduces a short complex axis by its pairwise scheme (four partial sums,
    combined as (s0 + s1) + (s2 + s3), then the remainder in order; halves above 64
    terms); spelled out here so a strided (n, P) view with small P costs a handful of
    vector adds instead of n tiny reductions.
    """
    count = z.shape[-1]
    if count < 4:  # sequential
        total = z[..., 0].copy()
        for k in range(1, count):
            total += z[..., k]
        return total
    if count > 64:  # numpy splits at a multiple of its 8-float unroll (4 complex)
        half = count // 2 - (count // 2) % 4
        return pairwise_sum_last(z[..., :half]) + pairwise_sum_last(z[..., half:])
    whole = count - count % 4
    partial = z[..., 0:4] + z[..., 4:8] if whole > 4 else z[..., 0:4]
    for start in range(8, whole, 4):
        partial += z[..., start : start + 4]
    pairs = partial[..., 0::2] + partial[..., 1::2]  # s0 + s1, s2 + s3
    total = pairs[..., 0] + pairs[..., 1]
    for k in range(whole, count):
        total += z[..., k]
    return total
