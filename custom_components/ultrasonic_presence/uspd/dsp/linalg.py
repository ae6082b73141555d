"""Matrix products that stay single-threaded.

OpenBLAS multithreads a GEMM above ≈2.6e5 multiply-adds; on a 2-core Pi its spinning
worker threads then starve the rest of Home Assistant (and, measured here, slow this
chain 10×). Products are split into row chunks below that size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

SINGLE_THREAD_GEMM = 196_608  # OpenBLAS goes multithreaded above M·N·K = 65536·4


def small_matmul[T: np.generic](
    a: npt.NDArray[T], b: npt.NDArray[Any], out: npt.NDArray[T] | None = None
) -> npt.NDArray[T]:
    """a @ b (2-D) in row chunks small enough that BLAS stays single-threaded."""
    rows = max(1, SINGLE_THREAD_GEMM // max(1, b.shape[0] * b.shape[1]))
    if out is None:
        if a.shape[0] <= rows:
            result: npt.NDArray[T] = a @ b
            return result
        out = np.empty((a.shape[0], b.shape[1]), dtype=np.result_type(a, b))
    for start in range(0, a.shape[0], rows):
        np.matmul(a[start : start + rows], b, out=out[start : start + rows])
    return out
