"""The Rucio venv for the tests that run a real Rucio (the peer bench, the Rucio source).

It is made once per machine from PyPI into the peer cache (a few minutes; a lock keeps
parallel test workers from making it twice) and reused. When it cannot be made the tests FAIL,
as a missing database server does, unless ``DYNAMO_TEST_SKIP_SERVERS=1`` turns that into a skip:
CI has PyPI, so the Rucio tests always run there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dynamo.bench.peer.rucio_env import cache_dir, ensure_venv
from dynamo.errors import ConfigurationError

__all__ = ["rucio_python"]


def rucio_python() -> Path:
    """The Rucio venv's python (made if needed); fails or skips as the module docstring says."""
    try:
        return ensure_venv(cache_dir())
    except ConfigurationError as exc:
        message = f"the Rucio venv cannot be made: {exc}"
        if os.environ.get("DYNAMO_TEST_SKIP_SERVERS") == "1":
            pytest.skip(message)
        pytest.fail(message + " (set DYNAMO_TEST_SKIP_SERVERS=1 to skip instead)")
