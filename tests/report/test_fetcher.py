"""The WeasyPrint URL fetcher serves the bundled assets and data: URLs, and nothing else."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urljoin

import pytest
from pypdf import PdfReader

from mtls_audit.report.fetcher import URLRefusedError, bundle_fetcher, bundled_asset
from mtls_audit.resources import bundled_dir

BUNDLE = bundled_dir("report_templates")
BASE = BUNDLE.as_uri() + "/"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "file://evil.example/etc/passwd",
        "http://169.254.169.254/metadata/instance",
        "https://example.com/logo.png",
        urljoin(BASE, "../../../../../../etc/passwd"),
        BASE + "sections/..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        BASE + "no-such-file.css",
        "/etc/passwd",
    ],
)
def test_everything_outside_the_bundle_is_refused(url: str) -> None:
    assert bundled_asset(url, BUNDLE) is None
    with pytest.raises(URLRefusedError):
        bundle_fetcher(BUNDLE).fetch(url)


def test_bundled_assets_and_data_urls_are_served() -> None:
    fetcher = bundle_fetcher(BUNDLE)
    css = fetcher.fetch(BASE + "report.css")
    assert css.content_type == "text/css"
    assert css.read() == (BUNDLE / "report.css").read_bytes()
    assert fetcher.fetch("data:text/plain;base64,aGVsbG8=").read() == b"hello"


def test_a_symbolic_link_out_of_the_bundle_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    root.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("not for reports")
    os.symlink(secret, root / "link.css")
    assert bundled_asset((root / "link.css").as_uri(), root) is None
    (root / "inside.css").write_text("p {}")
    assert bundled_asset((root / "inside.css").as_uri(), root) == (root / "inside.css").resolve()


def test_weasyprint_with_the_fetcher_embeds_no_local_file(tmp_path: Path) -> None:
    """Raw markup that asks for local files, bypassing the templates, still loads nothing."""
    from weasyprint import HTML

    markup = (
        '<html><head><link rel="attachment" href="file:///etc/passwd">'
        '<style>@font-face { font-family: x; src: url("file:///etc/passwd"); }'
        'p { background: url("../../../../etc/passwd"); }</style></head>'
        '<body><p>text</p><img src="file:///etc/passwd"><img src="https://example.com/a.png">'
        '<a rel="attachment" href="file:///etc/passwd">a</a></body></html>'
    )
    out = tmp_path / "raw.pdf"
    fetcher = bundle_fetcher(BUNDLE)
    HTML(string=markup, base_url=BASE, url_fetcher=fetcher).write_pdf(out)
    reader = PdfReader(out)
    assert reader.attachments == {}
    assert not reader.pages[0].images
    assert b"root:" not in out.read_bytes()
