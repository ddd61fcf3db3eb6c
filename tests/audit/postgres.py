"""A real PostgreSQL server for the history tests, started from the distribution's binaries
(Debian's ``postgresql`` package: ``/usr/lib/postgresql/<version>/bin``) in a temporary folder.

``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` user the
package creates (through ``runuser``). Tests that need it skip, saying why, when there is no
server binary or no user to run it as.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Server:
    host: str
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database's URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_server_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        pytest.skip("initdb refuses root, and runuser is not available to run it as postgres")
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("initdb refuses root, and there is no postgres user to run it as")
    return ["runuser", "-u", "postgres", "--"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture(scope="session")
def postgres() -> Iterator[Server]:
    binaries = _binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL server binaries (apt-get install postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed")
    prefix = _as_server_user()
    # Not under pytest's temporary folder, which only its owner may enter.
    root = Path(tempfile.mkdtemp(prefix="mtls-audit-postgres-"))
    data = root / "data"
    if prefix:
        shutil.chown(root, "postgres")
    _run(*prefix, binaries / "initdb", "-D", data, "-A", "trust", "-U", "postgres")
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    _run(*prefix, binaries / "pg_ctl", "-D", data, "-o", options, "-l", root / "log", "-w", "start")
    try:
        yield Server("127.0.0.1", port)
    finally:
        _run(*prefix, binaries / "pg_ctl", "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def _run(*command: str | Path) -> None:
    subprocess.run([str(c) for c in command], check=True, capture_output=True, timeout=120)
