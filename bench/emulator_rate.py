"""How many sendMessage per second the emulator sustains, with limits off, by chat count.

    python bench/emulator_rate.py                      # 1,000 vs 1,000,000 chats
    python bench/emulator_rate.py --chats 1000 --duration 5

For each chat count: starts the emulator in its own process (``python -m emulator --no-limits``,
uvloop + httptools, one process since the state is in memory), creates the chats through the
control side, stores ``--preload`` messages in every chat (so the big run also holds a million
stored messages), then drives sendMessage with wrk (Debian's package: ``apt-get install wrk``)
and a Lua script that POSTs form-encoded bodies, as python-telegram-bot does, to random chats.
Prints requests/s, latency, errors, messages the emulator stored and its peak RSS, side by side,
and the ratio of the two rates (the per-request cost must not grow with chats or messages).

Without wrk it falls back to a few Python client processes (slower: they share the 2 cores).
Not a test: it asserts nothing, it prints figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LUA = """
local path = "/bot{token}/sendMessage"
local first = {first}
local n = {n}
local headers = {{["Content-Type"] = "{content_type}"}}
request = function()
  local id = first + math.random(0, n - 1)
  return wrk.format("POST", path, headers, {body})
end
"""
BODIES = {
    "form": (
        "application/x-www-form-urlencoded",
        '"chat_id=" .. id .. "&text=Quote+of+the+day%3A+to+be+or+not+to+be&parse_mode=HTML"',
    ),
    "json": (
        "application/json",
        '\'{"chat_id":\' .. id .. \',"text":"Quote of the day: <b>to be</b> or not to be",'
        '"parse_mode":"HTML"}\'',
    ),
}


def control(url: str, name: str, **kwargs: object) -> object:
    req = urllib.request.Request(
        f"{url}/_emulator/{name}",
        data=json.dumps(kwargs).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=600) as r:  # our own local server
        data = json.load(r)
    if not data["ok"]:
        raise RuntimeError(data)
    return data["result"]


def start_emulator() -> tuple[subprocess.Popen[str], str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", "--no-limits"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    info = dict(proc.stdout.readline().strip().split("=", 1) for _ in range(4))
    url = info["base_url"].removesuffix("/bot")
    return proc, url, info["token"]


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_wrk(url: str, script: str, duration: float, connections: int, threads: int) -> dict:
    cmd = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
        "-s", script, url,
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:(.*)", out)
    p50 = re.search(r"50%\s+([\d.]+\w+)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    return {
        "rps": rps,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1).strip() if errors else "none",
        "p50": p50.group(1) if p50 else "?",
        "p99": p99.group(1) if p99 else "?",
    }


def _client(host: str, port: int, path: str, first: int, n: int, until: float, q: object) -> None:
    import random

    sock = socket.create_connection((host, port))
    done = 0
    buf = b""
    rng = random.Random(os.getpid())
    while time.monotonic() < until:
        body = f"chat_id={first + rng.randrange(n)}&text=Quote+of+the+day&parse_mode=HTML".encode()
        sock.sendall(
            b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (path.encode(), len(body), body)
        )
        while True:
            head_end = buf.find(b"\r\n\r\n")
            if head_end >= 0:
                length = int(re.search(rb"Content-Length: (\d+)", buf[:head_end]).group(1))  # type: ignore[union-attr]
                if len(buf) >= head_end + 4 + length:
                    buf = buf[head_end + 4 + length :]
                    break
            buf += sock.recv(65536)
        done += 1
    sock.close()
    q.put(done)  # type: ignore[attr-defined]


def run_python_clients(url: str, token: str, first: int, n: int, duration: float, procs: int):
    host, port = url.removeprefix("http://").split(":")
    q: multiprocessing.Queue[int] = multiprocessing.Queue()
    until = time.monotonic() + duration
    workers = [
        multiprocessing.Process(
            target=_client, args=(host, int(port), f"/bot{token}/sendMessage", first, n, until, q)
        )
        for _ in range(procs)
    ]
    for w in workers:
        w.start()
    total = sum(q.get() for _ in workers)
    for w in workers:
        w.join()
    return {"rps": total / duration, "non2xx": "?", "socket_errors": "?", "p50": "?", "p99": "?"}


def measure(chats: int, args: argparse.Namespace) -> dict:
    proc, url, token = start_emulator()
    try:
        t0 = time.perf_counter()
        first, last = control(url, "create_users", count=chats)  # type: ignore[misc]
        created = time.perf_counter() - t0
        preloaded = 0
        if args.preload:
            preloaded = control(url, "preload_messages", first=first, last=last,
                                per_chat=args.preload)  # fmt: skip
        ctype, body = BODIES[args.body]
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(LUA.format(token=token, first=first, n=chats, content_type=ctype, body=body))
            script = f.name
        try:
            if shutil.which("wrk") and not args.python_clients:
                run_wrk(url, script, args.warmup, args.connections, args.threads)
                result = run_wrk(url, script, args.duration, args.connections, args.threads)
                result["generator"] = f"wrk -t{args.threads} -c{args.connections}"
            else:
                run_python_clients(url, token, first, chats, args.warmup, args.procs)
                result = run_python_clients(url, token, first, chats, args.duration, args.procs)
                result["generator"] = f"{args.procs} python client processes"
        finally:
            os.unlink(script)
        counters = control(url, "counters", per_chat=False)
        result.update(
            chats=chats,
            create_s=created,
            preloaded=preloaded,
            sent=counters["messages_sent"],  # type: ignore[index]
            stored=preloaded + counters["messages_sent"],  # type: ignore[index]
            rss_mib=peak_rss_mib(proc.pid),
        )
        return result
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def core_cost_us(chats: int, preload: int, requests: int = 100_000) -> float:
    """Microseconds per sendMessage through App.handle in this process: no network, no load
    generator sharing the cores, so the growth with the number of chats shows plainly."""
    sys.path.insert(0, str(ROOT))
    import random

    from emulator import Emulator
    from emulator.server import App

    emu = Emulator(limits={"enabled": False})
    token = emu.new_bot_token()
    first, last = emu.create_users(chats)
    if preload:
        emu.preload_messages(first, last, per_chat=preload)
    app = App(emu)
    rng = random.Random(1)
    path = f"/bot{token}/sendMessage"
    headers = {b"content-type": b"application/x-www-form-urlencoded"}
    bodies = [
        f"chat_id={first + rng.randrange(chats)}&text=Quote+of+the+day%3A+to+be+or+not+to+be"
        "&parse_mode=HTML".encode()
        for _ in range(requests)
    ]
    t0 = time.perf_counter()
    for body in bodies:
        app.handle("POST", path, "", headers, body)
    return (time.perf_counter() - t0) / requests * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, nargs="+", default=[1_000, 1_000_000])
    parser.add_argument("--duration", type=int, default=10, help="seconds measured")
    parser.add_argument("--warmup", type=int, default=2, help="seconds before measuring")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--body", choices=sorted(BODIES), default="form")
    parser.add_argument("--preload", type=int, default=1, help="stored messages per chat")
    parser.add_argument("--rounds", type=int, default=3, help="runs per chat count (median)")
    parser.add_argument("--python-clients", action="store_true", help="do not use wrk")
    parser.add_argument("--procs", type=int, default=4, help="python client processes")
    args = parser.parse_args(argv)

    # rounds alternate the order of the chat counts, and each figure is the median run: on 2
    # cores shared with the load generator one run can be off by 20%
    runs: dict[int, list[dict]] = {n: [] for n in args.chats}
    for r in range(args.rounds):
        for n in args.chats if r % 2 == 0 else list(reversed(args.chats)):
            runs[n].append(measure(n, args))
    results = []
    for n in args.chats:
        ordered = sorted(runs[n], key=lambda res: res["rps"])
        median = dict(ordered[len(ordered) // 2])
        median["all_rps"] = [res["rps"] for res in runs[n]]
        median["rss_mib"] = max(res["rss_mib"] for res in runs[n])
        results.append(median)
    print(f"sendMessage, limits off, {args.body} bodies, {results[0]['generator']}, "
          f"{args.duration:g}s after {args.warmup:g}s warm-up, {args.rounds} rounds, "
          f"{args.preload} stored message(s) per chat beforehand, "
          f"{os.cpu_count()} cores")  # fmt: skip
    rows = [
        ("chats", lambda r: f"{r['chats']:,}"),
        ("requests/s (median)", lambda r: f"{r['rps']:,.0f}"),
        ("  runs", lambda r: " ".join(f"{x / 1000:.1f}k" for x in r["all_rps"])),
        ("latency p50", lambda r: r["p50"]),
        ("latency p99", lambda r: r["p99"]),
        ("non-2xx answers", lambda r: str(r["non2xx"])),
        ("socket errors", lambda r: r["socket_errors"]),
        ("messages sent", lambda r: f"{r['sent']:,}"),
        ("messages stored", lambda r: f"{r['stored']:,}"),
        ("chat creation (s)", lambda r: f"{r['create_s']:.2f}"),
        ("emulator peak RSS", lambda r: f"{r['rss_mib']:,.0f} MiB"),
    ]
    for label, cell in rows:
        print(f"  {label:<20}" + "".join(f"{cell(r):>22}" for r in results))
    costs = [core_cost_us(n, args.preload) for n in args.chats]
    print(f"  {'in-process us/req':<20}" + "".join(f"{c:>22.1f}" for c in costs))
    if len(results) >= 2:
        ratio = results[-1]["rps"] / results[0]["rps"]
        print(f"  rate ratio {results[-1]['chats']:,} / {results[0]['chats']:,} chats: {ratio:.2f}")
    target = 3000
    worst = min(r["rps"] for r in results)
    print(f"  target >= {target:,}/s: {'met' if worst >= target else 'MISSED'} "
          f"(worst {worst:,.0f}/s)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
