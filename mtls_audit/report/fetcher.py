"""The only way WeasyPrint may load anything while rendering a report.

By default WeasyPrint fetches ``file://`` and ``http(s)://`` URLs found in ``<img>``, CSS
``url()``, ``@font-face`` and ``<link rel=attachment>``, and report text comes from Azure, where
an attacker may choose names. The fetcher here serves the bundled report assets and ``data:``
URLs, and refuses every other URL: other files, ``../`` escapes out of the bundle, symbolic links
leading out of it, remote hosts.

WeasyPrint 70 expects a subclass of ``weasyprint.urls.URLFetcher`` (it reads attributes of the
instance while fetching, so a plain function breaks). The subclass is built on first use, so that
importing this module does not import WeasyPrint.
"""

from __future__ import annotations

import mimetypes
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from mtls_audit.errors import MtlsAuditError


class URLRefusedError(MtlsAuditError):
    """A URL the report renderer may not load."""


def bundled_asset(url: str, root: Path) -> Path | None:
    """The file a ``file:`` URL names when it lies inside ``root``; None for any other URL."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        return None
    path = Path(url2pathname(parts.path)).resolve()
    if path.is_relative_to(root.resolve()) and path.is_file():
        return path
    return None


def is_data_url(url: str) -> bool:
    return urlsplit(url).scheme.lower() == "data"


@cache
def _fetcher_class() -> type[Any]:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class BundleURLFetcher(URLFetcher):  # type: ignore[misc]
        def __init__(self, root: Path) -> None:
            super().__init__(allowed_protocols=("file", "data"), allow_redirects=False)
            self.root = root

        def fetch(self, url: str, headers: Any = None) -> Any:
            if is_data_url(url):
                return super().fetch(url, headers)
            path = bundled_asset(url, self.root)
            if path is None:
                raise URLRefusedError(
                    f"refused to load {url!r}: a report loads only its bundled assets"
                )
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(
                path.as_uri(), path.read_bytes(), {"Content-Type": content_type}
            )

    return BundleURLFetcher


def bundle_fetcher(root: Path) -> Any:
    """A WeasyPrint URL fetcher confined to ``root`` (the report_templates folder)."""
    return _fetcher_class()(root)
