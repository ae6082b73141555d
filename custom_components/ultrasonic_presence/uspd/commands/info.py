"""`uspd info`: versions and the inference runtime in use, for bug reports."""

from __future__ import annotations

import argparse
import json
import platform
from typing import Any

from .. import __version__


def register(sub: Any) -> None:
    """Add the `info` parser."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "info", help="print engine, Python and library versions"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def collect() -> dict[str, str]:
    """Versions that matter when a user reports a problem, and what classifies frames."""
    import numpy as np
    import scipy

    from ..model import DEFAULT_MODEL_PATHS, litert_available

    shipped = [path.name for path in DEFAULT_MODEL_PATHS]
    return {
        "uspd": __version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "libc": " ".join(platform.libc_ver()) or "unknown",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "runtime": "litert" if litert_available() else "numpy",
        "models": ", ".join(shipped) or "none (conventional detector)",
    }


def run(args: argparse.Namespace) -> int:
    """Print the collected facts."""
    facts = collect()
    if args.json:
        print(json.dumps(facts, indent=2))
    else:
        for key, value in facts.items():
            print(f"{key:8s} {value}")
    return 0
