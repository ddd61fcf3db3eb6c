"""Where the bundled data folders are, in a checkout and in an installed wheel.

`rules/` and `report_templates/` live at the top of the source tree and are shipped inside the
wheel as ``mtls_audit/_builtin_rules`` and ``mtls_audit/_report_templates``, so that they never
become top-level packages of their own in site-packages.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_SHIPPED_NAMES = {"rules": "_builtin_rules", "report_templates": "_report_templates"}


def bundled_dir(name: str) -> Path:
    """The folder ``rules`` or ``report_templates``, wherever this installation keeps it."""
    shipped = _PACKAGE_DIR / _SHIPPED_NAMES[name]
    if shipped.is_dir():
        return shipped
    return _PACKAGE_DIR.parent / name


def package_data(*parts: str) -> Path:
    """A data file inside the package (schemas, frameworks, samples)."""
    return _PACKAGE_DIR.joinpath(*parts)
