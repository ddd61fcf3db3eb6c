"""The dashboard in a real browser: the distribution's Chromium, driven by Playwright.

Every request the pages make is intercepted: a request that would leave the machine (any URL
but a file of the site) is refused and fails the test. Charts must render with a size, every
link must lead to a page or file that loads, and the status badges must be legible (WCAG AA).
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None, reason="Playwright is not installed"
    ),
    pytest.mark.skipif(
        CHROMIUM is None, reason="no Chromium binary (Debian: apt-get install chromium)"
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


class Visit:
    """A page with every request it makes recorded, and any outside the site refused."""

    def __init__(self, browser: Any, site: Path) -> None:
        self.site = site.resolve().as_uri()
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.requests: list[str] = []
        self.refused: list[str] = []
        self.page.route("**/*", self._route)

    def _route(self, route: Any) -> None:
        url = route.request.url
        self.requests.append(url)
        if url.startswith((self.site + "/", "data:")):
            route.continue_()
        else:
            self.refused.append(url)
            route.abort()

    def open(self, relative: str) -> Any:
        self.page.goto(f"{self.site}/{relative}", wait_until="load")
        return self.page


def _luminance(rgb: str) -> float:
    values = [int(v) / 255 for v in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    linear = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in values]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(foreground: str, background: str) -> float:
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_pages_load_offline_and_nothing_leaves_the_machine(browser: Any, site: Path) -> None:
    visit = Visit(browser, site)
    pages = ["index.html", *(f"instances/{p.name}" for p in (site / "instances").glob("*.html"))]
    for relative in pages:
        page = visit.open(relative)
        assert page.locator("h1").count() == 1
        # The style sheet applied: the layout is the site's, not the browser's default.
        assert page.evaluate("getComputedStyle(document.body).maxWidth") != "none"
    assert visit.refused == []
    assert all(url.startswith(visit.site) for url in visit.requests)


def test_charts_render(browser: Any, site: Path) -> None:
    visit = Visit(browser, site)
    for relative in ("index.html", "instances/ci.html"):
        page = visit.open(relative)
        chart = page.locator("svg[role=img]").first
        box = chart.bounding_box()
        assert box is not None
        assert box["width"] > 300
        assert box["height"] > 100
        line = chart.locator("g[data-series=critical] polyline")
        drawn = line.evaluate("el => el.getBBox().width")
        assert drawn > 100  # three days apart: a line across the chart, not a dot
        assert page.locator("svg[role=img] title").first.text_content()


def test_every_link_resolves(browser: Any, site: Path) -> None:
    visit = Visit(browser, site)
    page = visit.open("index.html")
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)")
    instance_links = [h for h in hrefs if "/instances/" in h and h.endswith(".html")]
    assert instance_links
    for href in instance_links:
        page.goto(href)
        for link in page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)"):
            target = Path(link.split("#")[0].removeprefix("file://"))
            assert target.is_file(), link
    report = visit.open("instances/ci/report.html")
    assert "mtls" in report.title().lower() or report.locator("h1").count() >= 1
    assert visit.refused == []


def test_status_badges_are_legible(browser: Any, site: Path) -> None:
    page = Visit(browser, site).open("index.html")
    for badge in page.locator(".status").all():
        colours = badge.evaluate(
            "el => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]"
        )
        assert _contrast(*colours) >= 4.5, (badge.text_content(), colours)
