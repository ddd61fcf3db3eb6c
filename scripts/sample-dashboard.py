"""Regenerate sample_reports/dashboard/: screenshots of the dashboard of a sample history.

The history is made by real scheduled runs of the bundled sample (tests/dashboard/
sample_history.py); the pages are rendered by the distribution's Chromium through Playwright
(``executable_path``: no browser is downloaded). Run from the repository root:
``python scripts/sample-dashboard.py``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from mtls_audit.audit.dashboard import build_site  # noqa: E402
from mtls_audit.audit.history import History  # noqa: E402
from tests.dashboard.sample_history import build_sample_history  # noqa: E402

OUT = ROOT / "sample_reports" / "dashboard"
AS_OF = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # the sample's last run


def main() -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("needs Chromium (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as folder:
        runs = build_sample_history(Path(folder))
        site = Path(folder) / "site"
        history = History(runs / "history.sqlite")
        build_site(history, runs, site, as_of=AS_OF)
        history.close()
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=chromium, headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route(  # offline: anything but the site's own files is refused
                "**/*",
                lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort(),
            )
            # The front page whole; an instance's page down to its trend and runs.
            for name, relative, whole in (
                ("index.png", "index.html", True),
                ("instance-ci.png", "instances/ci.html", False),
            ):
                page.goto((site / relative).as_uri())
                page.screenshot(path=OUT / name, full_page=whole)
            browser.close()
    print(f"written: {', '.join(sorted(p.name for p in OUT.iterdir()))}")


if __name__ == "__main__":
    main()
