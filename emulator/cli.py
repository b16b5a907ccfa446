"""``qotd emulator`` / ``python -m emulator``: serve the emulator until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import NoReturn

from .core import Emulator
from .server import EmulatorServer


class _Parser(argparse.ArgumentParser):
    """An argument error is one line and exit status 2 (the `qotd` command's contract)."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="qotd emulator",
        description="Serve a local Telegram Bot API emulator (point the bot at it with base_url).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8081, help="port (0: any free port)")
    parser.add_argument("--no-limits", action="store_true", help="turn Telegram's flood limits off")
    parser.add_argument("--seed", type=int, default=0, help="seed for tokens and faults")
    parser.add_argument("--token", help="bot token to announce (any well-formed token works as a fresh bot)")
    parser.add_argument("--no-uvloop", action="store_true", help="use asyncio's own event loop")
    return parser


def announcement(url: str, token: str) -> list[str]:
    """What the command prints once it listens: the lines to paste into the bot's environment
    first (qotd's TELEGRAM_API_URL is the server's root: the bot adds /bot<token> itself), then
    what other Bot API clients take."""
    root = url.rstrip("/")
    return [
        "# paste into the environment of `qotd serve` (or `qotd deliver`):",
        f"export TELEGRAM_API_URL={root}",
        f"export BOT_TOKEN={token}",
        "# for other clients (python-telegram-bot's base_url and base_file_url), and the control side:",
        f"base_url={root}/bot",
        f"base_file_url={root}/file/bot",
        f"control={root}/_emulator/",
    ]


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or an argument error (2, its line printed)
        return int(exc.code or 0)
    emu = Emulator(seed=args.seed, limits={"enabled": not args.no_limits})
    if args.token:
        emu.authenticate(args.token)
        token = args.token
    else:
        token = emu.new_bot_token()
    server = EmulatorServer(emu, host=args.host, port=args.port, use_uvloop=False if args.no_uvloop else None)
    try:
        server.start()
    except OSError as exc:
        print(
            f"qotd emulator: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr
        )
        return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for line in announcement(emu.url, token):
            print(line, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        server.stop()
    print("emulator: stopped", flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
