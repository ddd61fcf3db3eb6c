"""The dashboard of a small history made by real scheduled runs of the bundled sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtls_audit.audit.dashboard import build_site
from mtls_audit.audit.history import History

from .sample_history import build_sample_history


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("estate")
    runs = build_sample_history(root)
    history = History(runs / "history.sqlite")
    out = root / "site"
    build_site(history, runs, out)
    history.close()
    return out
