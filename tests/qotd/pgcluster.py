"""A private PostgreSQL cluster of a test's own, on a port of its own, that the test can stop.

Made with Debian's postgresql-common tools (`pg_createcluster`, `pg_ctlcluster`,
`pg_dropcluster`) and dropped at the end. Without the tools the test is skipped with the
reason; in CI (CI=true) it fails instead, as CI must run it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.qotd.process import free_port

TOOLS = ("pg_createcluster", "pg_ctlcluster", "pg_dropcluster", "createdb")


class Cluster:
    """One cluster: `stop()` (fast: every session is cut off) and `start()` again."""

    def __init__(self, version: str, name: str, port: int):
        self.version, self.name, self.port = version, name, port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/qotd"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")


def _version() -> str | None:
    versions = sorted((p.name for p in Path("/usr/lib/postgresql").glob("*") if p.name.isdigit()), key=int)
    return versions[-1] if versions else None


@pytest.fixture
def private_pg() -> Iterator[Cluster]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    version = _version()
    if missing or version is None:
        reason = f"no private PostgreSQL cluster: {', '.join(missing) or 'no server in /usr/lib/postgresql'}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run the outage tests)")
        pytest.skip(reason)
    name = f"qotdtest{os.getpid()}{secrets.token_hex(2)}"
    port = free_port()
    subprocess.run(
        ["pg_createcluster", version, name, "-p", str(port), "--", "-A", "trust"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    cluster = Cluster(version, name, port)
    try:
        cluster.start()
        subprocess.run(
            ["createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "qotd"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield cluster
    finally:
        subprocess.run(
            ["pg_dropcluster", version, name, "--stop"], check=False, capture_output=True, timeout=120
        )
