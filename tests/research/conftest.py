"""The research studies (research/range_band/) are scripts, not a package: their folder
goes on sys.path, so the tests import them by name, as they import each other."""

from __future__ import annotations

import sys
from pathlib import Path

RESEARCH = Path(__file__).parents[2] / "research" / "range_band"
sys.path.insert(0, str(RESEARCH))
