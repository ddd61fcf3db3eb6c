"""A small history made by real scheduled runs of the bundled sample, and its dashboard."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtls_audit.audit.dashboard import build_site
from mtls_audit.audit.history import History
from mtls_audit.cli import main

SCHEDULES = (
    "output: runs\nformats: [json, html, markdown]\ntargets:\n"
    "  - name: clinical\n    sample: true\n  - name: broken\n    from_file: [missing.json]\n",
    "output: runs\nformats: [json, html, markdown]\nignore: [{ignore}]\ntargets:\n"
    "  - name: ci\n    sample: true\n",
)
# Three days of runs of two schedules sharing one output root and history; the second adopts
# more rules each day (a trend to draw).
DAYS = (("1794560400", "MTLS-IN, MTLS-KV"), ("1794906000", "MTLS-IN"), ("1795165200", ""))


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("estate")
    config = root / "schedule.yaml"
    with pytest.MonkeyPatch.context() as patch:
        for epoch, ignore in DAYS:
            patch.setenv("SOURCE_DATE_EPOCH", epoch)
            for text in SCHEDULES:
                config.write_text(text.format(ignore=ignore), encoding="utf-8")
                with pytest.raises(SystemExit) as info:
                    main(["schedule", "run", str(config)])
                # Critical findings (1); the broken target's input error (2) is the larger.
                assert info.value.code == (2 if "broken" in text else 1)
    history = History(root / "runs" / "history.sqlite")
    out = root / "site"
    build_site(history, root / "runs", out)
    history.close()
    return out
