"""Where the real tracker exports live (../shared/samples beside the repo), and a skip when they do not.

The samples are other people's files: they are never copied into this repository. A fresh clone without
../shared skips the tests that read them, saying why; every feature also has tests on our own fixtures.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = Path(os.environ.get("PULSE_SAMPLES") or REPO.parent / "shared" / "samples")
DATA = REPO / "tests" / "data"


def sample(relative: str) -> Path:
    """The path of a real sample, or skip the test with the reason."""
    path = SAMPLES / relative
    if not path.exists():
        pytest.skip(f"real sample {relative} not available at {SAMPLES} (the shared samples are not in a "
                    "fresh clone; set PULSE_SAMPLES to their folder)")
    return path
