"""Bicep source files, compiled to an ARM template with the Bicep CLI the user has installed.

``bicep build --stdout`` is used when ``bicep`` is on PATH, else ``az bicep build --stdout``;
without either the file is refused with the command to run by hand. The compiled template is
read like any other (``arm_template``), so its gaps and lines refer to the compiled JSON.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from mtls_audit.errors import TemplateError

TIMEOUT = 300
"""Seconds a compilation may take (a first ``az bicep`` run downloads nothing: it must be
installed already, and restoring registry modules is the user's step)."""
NO_COMPILER = (
    "a Bicep source file, and neither `bicep` nor `az` is on PATH: install the Bicep CLI, or "
    "compile it with `az bicep build --file <file>` and give the .json"
)


def compiler() -> list[str] | None:
    """The command that compiles a Bicep file to stdout, without the file; None without one."""
    bicep = shutil.which("bicep")
    if bicep:
        return [bicep, "build", "--stdout"]
    az = shutil.which("az")
    if az:
        return [az, "bicep", "build", "--stdout", "--file"]
    return None


def compile_bicep(path: Path) -> tuple[str, str]:
    """The compiled template of a ``.bicep`` file, and the command that compiled it."""
    command = compiler()
    if command is None:
        raise TemplateError(NO_COMPILER, source=str(path))
    shown = " ".join([Path(command[0]).name, *command[1:], str(path)])
    try:
        done = subprocess.run(
            [*command, str(path)],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise TemplateError(f"`{shown}` took over {TIMEOUT} s", source=str(path)) from None
    except OSError as exc:
        raise TemplateError(f"`{shown}` could not run: {exc}", source=str(path)) from None
    if done.returncode != 0 or not done.stdout.strip():
        errors = [line for line in done.stderr.splitlines() if line.strip()][-5:]
        detail = "; ".join(errors) or f"exit code {done.returncode}, no output"
        raise TemplateError(f"`{shown}` failed: {detail}", source=str(path))
    return done.stdout, shown
