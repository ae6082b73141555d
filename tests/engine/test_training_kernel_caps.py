"""scripts/train caps numpy's and OpenBLAS's kernels as training.train documents, and the
model card says which caps a run had."""

from __future__ import annotations

import re
from pathlib import Path

from training import card
from training.train import NUMPY_DISABLED_FEATURES, OPENBLAS_CORE

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "train"


def test_scripts_train_sets_the_documented_caps() -> None:
    text = SCRIPT.read_text()
    numpy_caps = re.search(
        r'NPY_DISABLE_CPU_FEATURES="\$\{NPY_DISABLE_CPU_FEATURES-([^}]*)\}"', text
    )
    blas = re.search(r'OPENBLAS_CORETYPE="\$\{OPENBLAS_CORETYPE-([^}]*)\}"', text)
    assert numpy_caps is not None and blas is not None
    assert numpy_caps.group(1) == NUMPY_DISABLED_FEATURES
    assert blas.group(1) == OPENBLAS_CORE
    # numpy reads the variable once, on import: it must be exported before Python starts.
    assert text.index("NPY_DISABLE_CPU_FEATURES=") < text.index('exec "$VENV/bin/python"')


def test_card_names_the_caps_a_run_had() -> None:
    capped = {
        "cpu": "AMD EPYC (AVX2)",
        "onednn_max_cpu_isa": "AVX2",
        "numpy_disabled_cpu_features": NUMPY_DISABLED_FEATURES,
        "openblas_coretype": "Haswell",
    }
    line = card._cpu_line(capped)
    assert "oneDNN's kernels capped at AVX2" in line
    assert "numpy's without AVX-512" in line and "OpenBLAS's as on Haswell" in line
    uncapped = capped | {"numpy_disabled_cpu_features": "none", "openblas_coretype": "none"}
    assert "numpy's uncapped" in card._cpu_line(uncapped)
    # Runs recorded before 2026-12-07 name only oneDNN's cap.
    old = {"cpu": "Intel Xeon (AVX-512)", "onednn_max_cpu_isa": "AVX2"}
    assert card._cpu_line(old).endswith("(ONEDNN_MAX_CPU_ISA)")


def test_card_lists_the_corpus_digests_a_run_recorded() -> None:
    report = {"corpus_digests": {"seed": "0123abcd", "holdout": "4567ef01", "pool": "89ab2345"}}
    line = card._digest_line(report)
    assert "seed 0123abcd, holdout 4567ef01, pool 89ab2345" in line
    assert "scripts/train --corpora" in line
    # Runs made before the digests were recorded have none, and the card says nothing.
    assert card._digest_line({}) == ""
