"""Serve the feeds and pages with `qotd serve` under wrk (64 connections), beside nginx serving
the same bytes as files.

    python bench/feed_wrk.py [--seconds 10] [--connections 64] [--threads 2] [--rounds 5]
                             [--nginx-workers auto] [--paths /atom.xml,/q/fp-02,/,/feed.json]

For each path, prints the requests per second of both, qotd's share of nginx's rate (targets:
/atom.xml at least 50 %, /q/<id> at least 25 %), and the same for 304 answers (wrk sending
If-None-Match with the path's ETag). Needs Debian's `nginx` and `wrk` (apt-get install -y
nginx wrk). nginx runs with `worker_processes auto` (one worker per core), as Debian ships it;
`qotd serve` runs as the Procfile runs it, one process (WEB_SERVER from the environment, else
its default: granian).
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


def _code_root() -> Path:
    """The checkout whose `qotd serve` is measured: --code if given (read before the imports)."""
    for i, arg in enumerate(sys.argv):
        if arg == "--code" and i + 1 < len(sys.argv):
            return Path(sys.argv[i + 1]).resolve()
    return ROOT


CODE = _code_root()
sys.path.insert(0, str(CODE))

from quotes.corpus import load_corpus  # noqa: E402
from quotes.store import Store  # noqa: E402

LOCATION = """
        location = {path} {{
            root {dir}/www;
            try_files /{file} =404;
            default_type "{media}";
            etag on;
        }}
"""
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
{locations}
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
    parser.add_argument("--paths", default="/atom.xml,/q/fp-02,/,/feed.json")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout to serve (default: this one)")
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
            "PYTHONPATH": str(CODE),
        }
        qotd = subprocess.Popen(
            [sys.executable, "-m", "qotd", "serve"],
            cwd=CODE,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(work / "serve.log").open("wb"),
        )
        nginx_port = free_port()
        paths = args.paths.split(",")
        try:
            base, nginx_base = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{nginx_port}"
            wait_ready(f"{base}/healthz", qotd)
            (work / "www").mkdir()
            bodies, etags, locations = {}, {}, []
            for number, path in enumerate(paths):
                first = httpx.get(base + path, headers={"accept-encoding": "identity"})
                # A page without an ETag (the code before the page cache) has no 304 to measure.
                bodies[path], etags[path] = first.content, first.headers.get("etag")
                (work / "www" / f"{number}.body").write_bytes(first.content)
                media = first.headers["content-type"]
                locations.append(LOCATION.format(path=path, dir=work, file=f"{number}.body", media=media))
            (work / "nginx.conf").write_text(
                NGINX_CONF.format(
                    workers=args.nginx_workers, dir=work, port=nginx_port, locations="".join(locations)
                )
            )
            server = subprocess.Popen(
                [nginx, "-c", str(work / "nginx.conf"), "-e", str(work / "nginx-error.log")]
            )
            try:
                wait_ready(nginx_base + paths[0], server)
                nginx_etags = {}
                for path in paths:
                    served = httpx.get(nginx_base + path, headers={"accept-encoding": "identity"})
                    assert served.content == bodies[path], f"nginx must serve the same bytes for {path}"
                    nginx_etags[path] = served.headers["etag"] if etags[path] else None
                common = (args.seconds, args.connections, args.threads)
                wrk(base + paths[0], 2, args.connections, args.threads)  # warm-up
                rounds: dict[tuple[str, str], list[float]] = {}
                loads = []
                # Alternate the servers round by round, so a noisy neighbour hits both alike.
                for _ in range(args.rounds):
                    loads.append(Path("/proc/loadavg").read_text().split()[0])
                    for path in paths:
                        for name, url, tag in [
                            ("qotd", base + path, etags[path]),
                            ("nginx", nginx_base + path, nginx_etags[path]),
                        ]:
                            rounds.setdefault((path, name), []).append(wrk(url, *common)[0])
                            if tag is not None:
                                headers = [f"If-None-Match: {tag}"]
                                rate = wrk(url, *common, headers=headers)[0]
                                rounds.setdefault((path, name + "304"), []).append(rate)
                for path in (p for p in paths if etags[p]):
                    check = httpx.get(
                        base + path, headers={"If-None-Match": etags[path], "accept-encoding": "identity"}
                    )
                    assert check.status_code == 304 and check.content == b"", path
            finally:
                server.send_signal(signal.SIGQUIT)
                server.wait(timeout=10)
        finally:
            qotd.send_signal(signal.SIGTERM)
            qotd.wait(timeout=15)

    cores = os.cpu_count()
    median = statistics.median
    from qotd.settings import VARIABLES  # (of the checkout measured: --code's default may differ)

    defaults = {name: default for name, default, _ in VARIABLES}
    server = os.environ.get("WEB_SERVER") or defaults.get("WEB_SERVER", "uvicorn")
    print(
        f"wrk: {args.connections} connections, {args.threads} threads, {args.seconds} s per run, "
        f"{args.rounds} alternating rounds; {cores} CPU cores (wrk shares them); qotd serve with "
        f"WEB_SERVER={server}, nginx workers {args.nginx_workers}; load average (1 min) at each "
        f"round: {', '.join(loads)}"
    )
    print(
        "requests/s, median of the rounds (each round's figure in brackets); "
        "ratio: median of per-round ratios"
    )
    for path in paths:
        for status, suffix in (("200", ""), ("304", "304")):
            if (path, "qotd" + suffix) not in rounds:
                print(f"  {path:16} {status}: no ETag, no 304")
                continue
            ours, theirs = rounds[(path, "qotd" + suffix)], rounds[(path, "nginx" + suffix)]
            ratio = median(q / n for q, n in zip(ours, theirs, strict=True))
            print(
                f"  {path:16} {status}: qotd {median(ours):8.0f} [{', '.join(f'{r:.0f}' for r in ours)}]"
                f"  nginx {median(theirs):8.0f} [{', '.join(f'{r:.0f}' for r in theirs)}]  ratio {ratio:.1%}"
            )
    print(f"bytes: {', '.join(f'{path} {len(body)}' for path, body in bodies.items())}")


if __name__ == "__main__":
    main()
