"""Run `qotd deliver` as a real process against a test's emulator and database."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.bot.delivery.conftest import PYTHON, ROOT


class Delivery:
    """One `qotd deliver` process; its log goes to a file the test reads."""

    def __init__(
        self,
        emu,
        token: str,
        database_url: str,
        log: Path,
        *args: str,
        now: dt.datetime,
        env: dict[str, str] | None = None,
    ):
        self.log = log
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": database_url,
            "BOT_TOKEN": token,
            "TELEGRAM_API_URL": emu.url.rstrip("/"),
            "LOG_LEVEL": "INFO",
        } | (env or {})
        self._out = open(log, "ab")  # closed in wait()/kill()
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "qotd", "deliver", *args, "--now", now.isoformat()],
            cwd=ROOT,
            env=environment,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def running(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no chance to tidy up."""
        if self.running():
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._out.close()

    def terminate(self, timeout: float = 15) -> int:
        """SIGTERM, then wait for the exit code."""
        if self.running():
            self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout: float = 60) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._out.close()

    def wait_for(self, text: str, within: float = 20) -> None:
        deadline = time.monotonic() + within
        while text not in self.text():
            if time.monotonic() > deadline or not self.running():
                raise AssertionError(f"{text!r} not in the log:\n{self.text()[-3000:]}")
            time.sleep(0.05)
