"""Serve /atom.xml with `qotd serve` under wrk (64 connections), beside nginx serving the same bytes.

    python bench/feed_wrk.py [--seconds 10] [--connections 64] [--threads 2] [--rounds 5]
                             [--nginx-workers auto]

Prints the requests per second of both, qotd's share of nginx's rate (target: at least 33 %),
and the rate of 304 answers (wrk sending If-None-Match with the feed's ETag). Needs Debian's
`nginx` and `wrk` (apt-get install -y nginx wrk). nginx runs with `worker_processes auto` (one
worker per core), as Debian ships it; `qotd serve` is one process, as the Procfile runs it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from quotes.corpus import load_corpus  # noqa: E402
from quotes.store import Store  # noqa: E402

NGINX_CONF = """
worker_processes {workers};
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    types {{ }}
    server {{
        listen 127.0.0.1:{port};
        location = /atom.xml {{
            root {dir}/www;
            default_type "application/atom+xml; charset=utf-8";
            etag on;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args[0]} exited with {process.returncode}")
        try:
            last = httpx.get(url, timeout=2)
            if last.status_code in (200, 503):
                return
        except httpx.TransportError as exc:
            last = exc
            time.sleep(0.05)
    raise SystemExit(f"{url} did not answer within {timeout} s (last: {last!r})")


def wrk(url: str, seconds: int, connections: int, threads: int, headers: list[str] = ()) -> tuple[float, str]:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    latency = re.search(r"50%\s+(\S+)", output).group(1)
    note = f"median latency {latency}" + (f", {errors.group(1)} non-2xx/3xx" if errors else "")
    return rate, note


def prepare(database: str, days: int) -> None:
    """A database with the curated corpus and a quote for each of the last `days` days."""
    now = dt.datetime.now(dt.UTC)
    store = Store.connect(database)
    try:
        store.upgrade()
        store.load_corpus(load_corpus(), now - dt.timedelta(days=days + 1))
        for offset in reversed(range(days)):
            store.pick_for(now.date() - dt.timedelta(days=offset), now)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--nginx-workers", default="auto")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            raise SystemExit(f"{tool} is not installed: apt-get install -y nginx wrk")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        work.chmod(0o755)  # nginx's workers run as an unprivileged user and must read www/
        database = f"sqlite:///{work / 'bench.sqlite3'}"
        prepare(database, 30)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "PUBLIC_URL")}
        env |= {
            "DATABASE_URL": database,
            "DATA_DIR": str(work / "data"),
            "PORT": str(port),
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        qotd = subprocess.Popen(
            [sys.executable, "-m", "qotd", "serve"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(work / "serve.log").open("wb"),
        )
        nginx_port = free_port()
        try:
            url = f"http://127.0.0.1:{port}/atom.xml"
            wait_ready(f"http://127.0.0.1:{port}/healthz", qotd)
            first = httpx.get(url)
            body, etag = first.content, first.headers["etag"]
            (work / "www").mkdir()
            (work / "www" / "atom.xml").write_bytes(body)
            (work / "nginx.conf").write_text(
                NGINX_CONF.format(workers=args.nginx_workers, dir=work, port=nginx_port)
            )
            server = subprocess.Popen(
                [nginx, "-c", str(work / "nginx.conf"), "-e", str(work / "nginx-error.log")]
            )
            try:
                nginx_url = f"http://127.0.0.1:{nginx_port}/atom.xml"
                wait_ready(nginx_url, server)
                served = httpx.get(nginx_url)
                assert served.content == body, "nginx must serve the same bytes"
                common = (args.seconds, args.connections, args.threads)
                wrk(url, 2, args.connections, args.threads)  # warm-up
                rounds = {"qotd": [], "nginx": [], "qotd304": [], "nginx304": []}
                # Alternate the servers round by round, so a noisy neighbour hits both alike.
                for _ in range(args.rounds):
                    rounds["qotd"].append(wrk(url, *common)[0])
                    rounds["nginx"].append(wrk(nginx_url, *common)[0])
                    rounds["qotd304"].append(wrk(url, *common, headers=[f"If-None-Match: {etag}"])[0])
                    nginx_etag = served.headers["etag"]
                    rounds["nginx304"].append(
                        wrk(nginx_url, *common, headers=[f"If-None-Match: {nginx_etag}"])[0]
                    )
                check = httpx.get(url, headers={"If-None-Match": etag})
                assert check.status_code == 304 and check.content == b""
            finally:
                server.send_signal(signal.SIGQUIT)
                server.wait(timeout=10)
        finally:
            qotd.send_signal(signal.SIGTERM)
            qotd.wait(timeout=15)

    cores = os.cpu_count()
    median = statistics.median
    ratios = [q / n for q, n in zip(rounds["qotd"], rounds["nginx"], strict=True)]
    ratios304 = [q / n for q, n in zip(rounds["qotd304"], rounds["nginx304"], strict=True)]
    print(
        f"/atom.xml, {len(body)} bytes; wrk: {args.connections} connections, {args.threads} threads, "
        f"{args.seconds} s per run, {args.rounds} alternating rounds; {cores} CPU cores (wrk shares them)"
    )
    print("requests/s, median of the rounds (each round's figure in brackets):")
    for label, key in [
        ("qotd serve (1 process)   200", "qotd"),
        (f"nginx (workers {args.nginx_workers})      200", "nginx"),
        ("qotd serve (1 process)   304", "qotd304"),
        (f"nginx (workers {args.nginx_workers})      304", "nginx304"),
    ]:
        figures = ", ".join(f"{r:.0f}" for r in rounds[key])
        print(f"  {label}: {median(rounds[key]):9.0f}   [{figures}]")
    print(f"ratio qotd / nginx, 200: {median(ratios):.1%} (median of per-round ratios; target >= 33%)")
    print(f"ratio qotd / nginx, 304: {median(ratios304):.1%}")
    print(f"qotd's 304 rate: {median(rounds['qotd304']):.0f} req/s")


if __name__ == "__main__":
    main()
