"""Writing output files: into a folder checked before any work, atomically, never through a link.

A run writes each output to a temporary file beside it and renames it into place, so that a
reader (or a CI upload) sees the old file or the new one, never half of one, and so that a
symbolic link planted at an output's name is replaced, never followed: the file it points to is
left alone. The temporary file is created exclusively (``O_EXCL``, which does not follow links).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from mtls_audit.errors import OutputError

# The permissions a plain open() would give (mkstemp creates files readable by the owner only).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def prepare_folder(out: Path) -> None:
    """Create ``out`` when needed and check that files can be written in it.

    Called before collection starts, so that a typo in ``--out`` (a file, a read-only mount, a
    folder without write permission) stops the run at once with a clear message.
    """
    if out.exists() and not out.is_dir():
        raise OutputError("the output folder is a file, not a folder", source=str(out))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create the output folder: {exc.strerror or exc}", source=str(out)
        ) from None
    try:
        descriptor, probe = tempfile.mkstemp(dir=out, prefix=".mtls-audit-probe-")
    except OSError as exc:
        raise OutputError(
            f"cannot write in the output folder: {exc.strerror or exc}", source=str(out)
        ) from None
    os.close(descriptor)
    os.unlink(probe)


def write_file(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Replace ``path`` with ``data`` (bytes, or pieces of them) atomically; a link at
    ``path`` is replaced, not followed."""
    try:
        descriptor, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror or exc}", source=str(path)) from None
    try:
        with os.fdopen(descriptor, "wb") as stream:
            os.fchmod(stream.fileno(), 0o666 & ~_UMASK)
            if isinstance(data, bytes):
                stream.write(data)
            else:
                stream.writelines(data)
        os.replace(temporary, path)
    except BaseException as exc:  # pieces made as they are written can fail half way
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write: {exc.strerror or exc}", source=str(path)) from None
        raise


def write_text(path: Path, text: str) -> None:
    """:func:`write_file` for UTF-8 text."""
    write_file(path, text.encode("utf-8"))
