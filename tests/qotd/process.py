"""Run `qotd serve` in a real subprocess on a free port, for the tests that need one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    """`qotd serve` as a child process, with its log in a file."""

    def __init__(
        self, tmp_path: Path, env: dict[str, str], port: int | None = None, argv: list[str] | None = None
    ):
        """argv: the command (default `python -m qotd serve`)."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / "serve.log"
        full = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "PUBLIC_URL", "DATABASE_URL")}
        full |= {"PORT": str(self.port), "PYTHONPATH": str(ROOT), "DATA_DIR": str(tmp_path / "data")} | env
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            argv or [sys.executable, "-m", "qotd", "serve"],
            cwd=ROOT,
            env=full,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 30) -> httpx.Response:
        """Poll /healthz until it answers; fail with the log if the process dies or never does."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(f"qotd serve exited with {self.process.returncode}:\n{self.text()}")
                try:
                    return client.get(f"{self.url}/healthz")
                except httpx.TransportError:
                    time.sleep(0.05)  # polling for readiness, not waiting for a result
        raise AssertionError(f"qotd serve did not answer within {timeout} s:\n{self.text()}")

    def wait_leader(self, timeout: float = 30) -> httpx.Response:
        """Poll /healthz until the scheduler leads (it starts as standby, then takes the lease)."""
        deadline = time.monotonic() + timeout
        answer = self.wait_ready(timeout)
        while answer.json()["scheduler"] != "leader" and time.monotonic() < deadline:
            time.sleep(0.05)  # polling for readiness, not waiting for a result
            answer = httpx.get(f"{self.url}/healthz", timeout=2)
        return answer

    def terminate(self, timeout: float = 10) -> tuple[int, float]:
        """Send SIGTERM; return the exit code and how long it took to exit."""
        start = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        return code, time.monotonic() - start

    def text(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log.close()
