"""Naming a missing library, and the command that installs it.

The PDF report needs WeasyPrint and, beneath it, the system libraries Pango, HarfBuzz, fontconfig
and GLib; live collection needs the Azure SDK. pip installs the Python packages with mtls-audit
and the system's package manager the libraries, so a missing one means a partial installation:
the error says which library is missing and gives the command that installs it (pip, or apt,
dnf and brew), never a traceback.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from mtls_audit.errors import MissingDependencyError
from mtls_audit.wording import noun

# What gives WeasyPrint every library it loads (HarfBuzz-Subset included) and the DejaVu fonts
# the report asks for, per platform; the names follow WeasyPrint's installation guide.
SYSTEM_INSTALL = (
    "Debian/Ubuntu: sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 "
    "fonts-dejavu-core",
    "Fedora/RHEL: sudo dnf install pango harfbuzz dejavu-sans-fonts dejavu-sans-mono-fonts",
    "macOS: brew install pango",
)
# The libraries WeasyPrint loads, by a part of the name it loads them by (most specific first).
LIBRARIES = (
    ("pangoft2", "PangoFT2"),
    ("pango", "Pango"),
    ("harfbuzz", "HarfBuzz"),
    ("fontconfig", "fontconfig"),
    ("gobject", "GLib"),
)
_NOT_LOADED = re.compile(r"cannot load library '([^']+)'")


def require_modules(purpose: str, modules: Mapping[str, str]) -> None:
    """Raise naming every one of ``modules`` (import name: pip distribution) not installed."""
    missing = sorted({dist for module, dist in modules.items() if not _installed(module)})
    if missing:
        raise MissingDependencyError(
            f"{purpose} needs the Python {noun(len(missing), 'package')} {', '.join(missing)}, "
            f"which {'is' if len(missing) == 1 else 'are'} not installed; install "
            f"{'it' if len(missing) == 1 else 'them'} with: "
            f"python3 -m pip install {' '.join(missing)}"
        )


@contextmanager
def importing(purpose: str, distribution: str) -> Iterator[None]:
    """Turn a failed import in the block into a MissingDependencyError that names what is
    missing: the Python package (or one it needs), or the system library it could not load."""
    try:
        yield
    except ImportError as exc:
        module = exc.name or distribution
        raise MissingDependencyError(
            f"{purpose} needs the Python package {distribution}, which cannot be imported "
            f"(module {module!r} is missing); install it with: python3 -m pip install "
            f"{distribution}"
        ) from None
    except OSError as exc:
        found = _NOT_LOADED.search(str(exc))
        if found is None:
            raise
        raise MissingDependencyError(
            f"{purpose} needs the system library {_library_name(found.group(1))}, which could "
            "not be loaded; install it with your package manager:\n  " + "\n  ".join(SYSTEM_INSTALL)
        ) from None


def _library_name(loaded_as: str) -> str:
    """``Pango (libpango-1.0-0)`` for WeasyPrint's ``libpango-1.0-0``."""
    lowered = loaded_as.lower()
    name = next((name for part, name in LIBRARIES if part in lowered), None)
    return f"{name} ({loaded_as})" if name else loaded_as


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing, or a broken entry
        return False
