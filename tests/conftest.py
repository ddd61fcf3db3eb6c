"""Test-wide settings: Hypothesis draws fixed examples in CI, fresh ones elsewhere.

In CI (the ``CI`` environment variable set) every property test runs the same examples on every
run, so a result never depends on the draw; run the tests locally to explore new examples.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
