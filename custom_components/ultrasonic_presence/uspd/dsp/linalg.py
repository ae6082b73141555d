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

from typing import Any

import numpy as np
import numpy.typing as npt

SINGLE_THREAD_GEMM = 196_608  # OpenBLAS goes multithreaded above M·N·K = 65536·4


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
