"""/healthz while `qotd serve` is under load: how often it says 503 although all works, and how slow.

    python bench/healthz_load.py [--seconds 20] [--connections 1000] [--rounds 2] [--compare DIR]

wrk loads the home page and a quote page with `--connections` connections while a probe thread
asks /healthz every 0.25 s (2 s timeout, as a load balancer would). Prints, per round, the
probes answered 200, 503 and not at all (timeout), their median and worst latency, and wrk's
rate, with the load average. With `--compare DIR` (another checkout, e.g. /work/main), the same
rounds alternate between that checkout's `qotd serve` and this one's, side by side. Needs
Debian's `wrk`.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]

LUA = """
local paths = {"/", "/q/sb-01"}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[n % 2 + 1])
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ")[0]


def serve(root: Path, folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "PUBLIC_URL", "DATABASE_URL")}
    env |= {"PORT": str(port), "DATA_DIR": str(folder), "LOG_LEVEL": "WARNING", "PYTHONPATH": str(root)}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # the other checkout is only read
    log = (folder / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "qotd", "serve"], cwd=root, env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"qotd serve in {root} did not become healthy")


def round_(root: Path, seconds: int, connections: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        script = folder / "paths.lua"
        script.write_text(LUA)
        process, url = serve(root, folder)
        answers: list[tuple[int, float]] = []
        stop = threading.Event()

        def probe() -> None:
            with httpx.Client(timeout=2) as client:
                while not stop.is_set():
                    start = time.monotonic()
                    try:
                        status = client.get(url + "/healthz").status_code
                    except httpx.TransportError:
                        status = 0
                    answers.append((status, time.monotonic() - start))
                    stop.wait(0.25)

        try:
            wrk = subprocess.Popen(
                ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "-s", str(script), url],
                stdout=subprocess.PIPE,
                text=True,
            )
            time.sleep(1)  # let wrk open its connections first
            thread = threading.Thread(target=probe)
            thread.start()
            out, _ = wrk.communicate()
            stop.set()
            thread.join()
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(20)
        rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
        latencies = [s for _, s in answers]
        return {
            "probes": len(answers),
            "200": sum(1 for s, _ in answers if s == 200),
            "503": sum(1 for s, _ in answers if s == 503),
            "none": sum(1 for s, _ in answers if s == 0),
            "median_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
            "worst_ms": round(max(latencies) * 1000, 1) if latencies else None,
            "wrk_rps": float(rate.group(1)) if rate else None,
            "loadavg": loadavg(),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--compare", type=Path, help="another checkout to run side by side")
    args = parser.parse_args()
    roots = [("this", ROOT)] + ([("compare", args.compare.resolve())] if args.compare else [])
    for n in range(args.rounds):
        for name, root in roots if n % 2 == 0 else list(reversed(roots)):
            result = round_(root, args.seconds, args.connections)
            print(f"round {n + 1} {name:8} ({root}): {result}", flush=True)


if __name__ == "__main__":
    main()
