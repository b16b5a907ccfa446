# ruff: noqa: E501 (a table of the exact lines the command prints: one line each reads best)
"""The command line's error contract as a table: each way in, the exit status, the one line.

`tests/qotd/test_errors.py` runs every case (on SQLite and PostgreSQL) and asserts the status, the
exact line on stderr and that the database did not change. `python -m tests.qotd.error_cases`
runs them on a fresh SQLite database and prints the table as Markdown (the closing note's list).
`{tmp}` in an argument, a variable or a line is the case's folder of files (see `make_files`);
`{head}` is the schema's head revision.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

TOKEN = "123456789:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0"  # the shape of a real token, not a real one
DOWN = "postgresql://qotd:pw-not-logged@127.0.0.1:1/qotd"  # nothing listens on port 1
REFUSED = (
    'database unreachable (connection failed: connection to server at "127.0.0.1", port 1 failed: '
    "Connection refused); check DATABASE_URL and that the server is up"
)


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]
    status: int
    line: str
    env: dict[str, str] = field(default_factory=dict)


def case(name: str, argv: str, status: int, line: str, **env: str) -> Case:
    return Case(name, tuple(argv.split()), status, line, env)


def _setting(name: str, value: str, line: str, **more: str) -> Case:
    return case(f"setting {name}={value}", "today", 2, line, **{name: value}, **more)


SETTINGS = [
    _setting(
        "DATABASE_URL",
        "mysql://x",
        "DATABASE_URL names a mysql database; qotd runs on sqlite:///… or postgresql://…",
    ),
    _setting(
        "DATABASE_URL",
        "nonsense",
        "DATABASE_URL is not a database URL; write sqlite:///path/to/file.sqlite3 or "
        "postgresql://user:password@host:5432/name",
    ),
    _setting(
        "DATABASE_URL", "sqlite://", "DATABASE_URL names no SQLite file; write sqlite:///path/to/file.sqlite3"
    ),
    _setting(
        "DATABASE_URL",
        "postgresql+asyncpg://u:p@h/db",
        "DATABASE_URL asks for the asyncpg driver; qotd uses psycopg 3: write postgresql://…",
    ),
    _setting(
        "DATA_DIR",
        "/proc/nope",
        "cannot create the database's folder /proc/nope: No such file or directory (set by DATA_DIR or DATABASE_URL)",
        DATABASE_URL="",  # the default: a SQLite file in DATA_DIR
    ),
    _setting(
        "TIMEZONE", "Mars/Olympus", "TIMEZONE='Mars/Olympus' is not an IANA timezone such as Europe/Moscow"
    ),
    _setting("PUBLISH_TIME", "9am", "PUBLISH_TIME='9am' is not a time as HH:MM, such as 09:00"),
    _setting(
        "BOT_TOKEN",
        "12345:short",
        "BOT_TOKEN is not a bot token: @BotFather gives one as <digits>:<35 letters, digits, _ or ->",
    ),
    _setting(
        "PUBLIC_URL",
        "notaurl",
        "PUBLIC_URL='notaurl' is not an absolute http(s) URL; write it as https://host[:port][/path]",
    ),
    _setting(
        "PUBLIC_URL",
        "ftp://quotes.example.org",
        "PUBLIC_URL='ftp://quotes.example.org' is not an absolute http(s) URL; write it as https://host[:port][/path]",
    ),
    _setting(
        "PUBLIC_URL",
        "https://quotes.example.org/?x=1",
        "PUBLIC_URL='https://quotes.example.org/?x=1' must not have a query or fragment; write the base URL only",
    ),
    _setting(
        "WEBHOOK_SECRET",
        "two words",
        "WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)",
    ),
    _setting(
        "TELEGRAM_API_URL",
        "http://127.0.0.1:8081/bot",
        "TELEGRAM_API_URL='http://127.0.0.1:8081/bot' ends in the /bot path the bot adds itself (with the token); "
        "write TELEGRAM_API_URL=http://127.0.0.1:8081",
    ),
    _setting(
        "TELEGRAM_API_URL",
        "api.telegram.org",
        "TELEGRAM_API_URL='api.telegram.org' is not an absolute http(s) URL; write it as https://host[:port][/path]",
    ),
    _setting("ADMIN_IDS", "12,alice", "ADMIN_IDS='12,alice' must be comma-separated numeric ids"),
    _setting("CHANNEL_IDS", "news", "CHANNEL_IDS: 'news' is neither a numeric chat id nor an @name"),
    _setting("PORT", "0", "PORT=0 is out of range 1-65535"),
    _setting("PORT", "http", "PORT='http' is not a whole number"),
    _setting("CATCH_UP_HOURS", "-1", "CATCH_UP_HOURS='-1' must not be negative"),
    _setting("ALLOW_PAID_BROADCAST", "maybe", "ALLOW_PAID_BROADCAST='maybe' is not true or false"),
    _setting("RETRY_UNCERTAIN", "2", "RETRY_UNCERTAIN='2' is not true or false"),
    _setting("FEED_DAYS", "0", "FEED_DAYS=0 is out of range 1-3660"),
    _setting(
        "LOG_LEVEL",
        "LOUD",
        "LOG_LEVEL='LOUD' is not a log level: use one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
    ),
    _setting("IMPORT_MAX_BYTES", "10MB", "IMPORT_MAX_BYTES='10MB' is not a whole number"),
    _setting("CHANNEL_FORMAT", "photo", "CHANNEL_FORMAT='photo' is not text or card"),
    _setting(
        "CHANNEL_FORMAT",
        "card",
        "CHANNEL_FORMAT=card needs PUBLIC_URL: Telegram fetches the card from the site",
    ),
    _setting(
        "REDIS_URL",
        "localhost:6379",
        "REDIS_URL='localhost:6379' is not a Redis URL; write redis://host:6379/0",
    ),
    _setting("REPLICAS", "0", "REPLICAS=0 is out of range 1-1000"),
    _setting("EDIT_SENT", "some", "EDIT_SENT='some' is not one of channels, all, none"),
    _setting("WEB_SERVER", "gunicorn", "WEB_SERVER='gunicorn' is not one of granian, uvicorn"),
    _setting(
        "FEED_DIR",
        "/etc/hostname",
        "FEED_DIR='/etc/hostname' is a file, not a folder; name a folder to write into",
    ),
    _setting("LEADER_LEASE_SECONDS", "0.5", "LEADER_LEASE_SECONDS='0.5' is out of range 1-3600 seconds"),
]

ARGUMENTS = [
    case("no command", "", 2, "the following arguments are required: COMMAND (see `qotd --help`)"),
    case(
        "unknown command",
        "frobnicate",
        2,
        "argument COMMAND: invalid choice: 'frobnicate' (choose from 'today', 'schedule', 'quotes', "
        "'sources', 'db', 'feed', 'serve', 'deliver', 'emulator') (see `qotd --help`)",
    ),
    case(
        "today --date not a date",
        "today --date 2026-02-30",
        2,
        "qotd today: argument --date: '2026-02-30' is not a date as YYYY-MM-DD (see `qotd today --help`)",
    ),
    case(
        "today --date too early",
        "today --date 0001-01-01",
        2,
        "qotd today: argument --date: '0001-01-01' is before 1900-01-01, the first day qotd knows "
        "(see `qotd today --help`)",
    ),
    case(
        "today --date too far ahead",
        "today --date 9999-12-31",
        2,
        "9999-12-31 is too far ahead to preview (at most 3660 days)",
    ),
    case(
        "today unknown option",
        "today --colour",
        2,
        "unrecognized arguments: --colour (see `qotd --help`)",
    ),
    case(
        "schedule --days 0",
        "schedule --days 0",
        2,
        "qotd schedule: argument --days: '0' is not a number of days from 1 to 3660 (see `qotd schedule --help`)",
    ),
    case(
        "schedule --from not a date",
        "schedule --from tomorrow",
        2,
        "qotd schedule: argument --from: 'tomorrow' is not a date as YYYY-MM-DD (see `qotd schedule --help`)",
    ),
    case(
        "quotes without action",
        "quotes",
        2,
        "qotd quotes: the following arguments are required: ACTION (see `qotd quotes --help`)",
    ),
    case(
        "quotes show unknown id", "quotes show nope", 2, "there is no quote 'nope' (see `qotd quotes list`)"
    ),
    case(
        "quotes import --format xml",
        "quotes import {tmp}/x.xml --format xml",
        2,
        "qotd quotes import: argument --format: invalid choice: 'xml' (choose from 'json', 'csv') "
        "(see `qotd quotes import --help`)",
    ),
    case(
        "serve --port 70000",
        "serve --port 70000",
        2,
        "qotd serve: argument --port: '70000' is not a port from 1 to 65535 (see `qotd serve --help`)",
    ),
    case(
        "deliver without a mode",
        "deliver",
        2,
        "qotd deliver: one of the arguments --once --serve is required (see `qotd deliver --help`)",
    ),
    case(
        "deliver --rate 0",
        "deliver --once --rate 0",
        2,
        "qotd deliver: argument --rate: '0' is not a positive number (see `qotd deliver --help`)",
    ),
    case(
        "deliver --now not a time",
        "deliver --once --now noon",
        2,
        "qotd deliver: argument --now: 'noon' is not an ISO time such as 2026-11-23T09:00:00+00:00 "
        "(see `qotd deliver --help`)",
    ),
    case(
        "deliver --now without offset",
        "deliver --once --now 2026-11-23T09:00",
        2,
        "--now needs a timezone offset, such as 2026-11-23T09:00:00+00:00",
        BOT_TOKEN=TOKEN,
    ),
    case(
        "deliver without BOT_TOKEN",
        "deliver --once",
        2,
        "BOT_TOKEN is not set: there is nobody to deliver as",
    ),
    case(
        "emulator --port not a number",
        "emulator --port abc",
        2,
        "qotd emulator: argument --port: invalid int value: 'abc' (see `qotd emulator --help`)",
    ),
    case(
        "feed build --out not creatable",
        "feed build --out /proc/nope/feeds",
        2,
        "cannot create /proc/nope/feeds: No such file or directory",
    ),
]

FILES = [
    case(
        "import: missing file",
        "quotes import {tmp}/missing.json",
        2,
        "cannot read {tmp}/missing.json: No such file or directory",
    ),
    case(
        "import: a folder",
        "quotes import {tmp}/folder.json",
        2,
        "cannot read {tmp}/folder.json: Is a directory",
    ),
    case(
        "import: empty file",
        "quotes import {tmp}/empty.json",
        2,
        "{tmp}/empty.json is empty: nothing to import",
    ),
    case(
        "import: binary file",
        "quotes import {tmp}/image.json",
        2,
        "{tmp}/image.json: the file is not UTF-8 text (invalid start byte at byte 0); nothing was imported",
    ),
    case(
        "import: NUL bytes",
        "quotes import {tmp}/nul.csv",
        2,
        "{tmp}/nul.csv: the file is binary (a NUL character at position 3), not csv; nothing was imported",
    ),
    case(
        "import: huge file",
        "quotes import {tmp}/huge.json",
        2,
        "{tmp}/huge.json is 11,534,336 bytes; IMPORT_MAX_BYTES allows 10,485,760: split the file or raise the limit",
    ),
    case(
        "import: over a lowered IMPORT_MAX_BYTES",
        "quotes import {tmp}/minimal.csv",
        2,
        "{tmp}/minimal.csv is 80 bytes; IMPORT_MAX_BYTES allows 50: split the file or raise the limit",
        IMPORT_MAX_BYTES="50",
    ),
    case(
        "import: unknown suffix",
        "quotes import {tmp}/quotes.txt",
        2,
        "{tmp}/quotes.txt: cannot tell the format from the suffix '.txt'; name it .json or .csv, or give --format",
    ),
    case(
        "import: not JSON",
        "quotes import {tmp}/broken.json",
        2,
        "{tmp}/broken.json: the file is not valid JSON (line 1: Expecting property name enclosed in double quotes); "
        "nothing was imported",
    ),
    case(
        "import: JSON nested too deeply",
        "quotes import {tmp}/deep.json",
        2,
        "{tmp}/deep.json: the JSON nests too deeply (a quotes file nests 8 levels at most); nothing was imported",
    ),
    case(
        "import: JSON nested past the limit",
        "quotes import {tmp}/nested.json",
        2,
        "{tmp}/nested.json: the JSON nests more than 8 levels (a quotes file needs fewer); nothing was imported",
    ),
    case(
        "import: unknown format",
        "quotes import {tmp}/other-format.json",
        2,
        "{tmp}/other-format.json: the file's format is 'someone-else', not 'qotd-quotes'; nothing was imported",
    ),
    case(
        "import: unknown version",
        "quotes import {tmp}/version-2.json",
        2,
        "{tmp}/version-2.json: the file is version 2 of qotd-quotes; this qotd reads version 1; nothing was imported",
    ),
    case(
        "import: CSV without a needed column",
        "quotes import {tmp}/no-speaker.csv",
        2,
        "{tmp}/no-speaker.csv: line 2 column 'speaker': is required; nothing was imported",
    ),
    case(
        "import: CSV without an id column",
        "quotes import {tmp}/no-id.csv",
        2,
        "{tmp}/no-id.csv: line 1: the header has no id column (a minimal CSV: id,text,speaker,source); nothing was imported",
    ),
    case(
        "import: CSV with an unknown column",
        "quotes import {tmp}/typo.csv",
        2,
        "{tmp}/typo.csv: line 1: column 'speeker' is not a field of a quote (see the CSV columns in the README); "
        "nothing was imported",
    ),
    case(
        "import: CSV line with too many cells",
        "quotes import {tmp}/extra-cells.csv",
        2,
        "{tmp}/extra-cells.csv: line 3: has 5 cells, the header has 4 columns; nothing was imported",
    ),
    case(
        "import: CSV naming an unknown source",
        "quotes import {tmp}/unknown-source.csv",
        2,
        "{tmp}/unknown-source.csv: line 2 column 'source': no source has the id 'nowhere' (give its title and url "
        "in source.* columns, or add the source first); nothing was imported",
    ),
    case(
        "import: CSV bad date",
        "quotes import {tmp}/bad-date.csv",
        2,
        "{tmp}/bad-date.csv: line 3 column 'date': '2013-02-30' is not a real date (day is out of range for month); nothing was imported",
    ),
    case(
        "import --dry-run with refused rows",
        "quotes import {tmp}/bad-date.csv --dry-run",
        2,
        "{tmp}/bad-date.csv: 1 record(s) would be refused (listed above); nothing was imported",
    ),
    case(
        "export to an unknown suffix",
        "quotes export -o {tmp}/quotes.txt",
        2,
        "{tmp}/quotes.txt: cannot tell the format from the suffix '.txt'; name it .json or .csv, or give --format",
    ),
    case(
        "export into a missing folder",
        "quotes export -o /nonexistent/x.csv",
        2,
        "cannot write /nonexistent/x.csv: No such file or directory",
    ),
    case(
        "sources add: missing file",
        "sources add /nonexistent.html",
        2,
        "cannot read /nonexistent.html: No such file or directory",
    ),
    case(
        "quotes add: unknown source",
        "quotes add --source nope --text Words --speaker Someone --date 2020",
        2,
        "source: there is no source 'nope'; /sources lists them; nothing was saved",
    ),
    case(
        "quotes add: text not in the source's copy",
        "quotes add --source cfr-same-boat --text Unsaid --speaker Sergey_Lavrov --date 2010-11-15",
        2,
        "text: it is not in the source's copy: text departs from 000_19d2d4881eae016f.txt after 2 "
        "matching characters (paragraph 4, document character 164); nothing was saved; --unverified "
        "saves it as unverified",
    ),
    case(
        "check: missing corpus",
        "quotes check --corpus /nonexistent.toml",
        2,
        "cannot read /nonexistent.toml: No such file or directory",
    ),
    case(
        "check: corpus not TOML",
        "quotes check --corpus {tmp}/image.json",
        2,
        "{tmp}/image.json: corpus file is not valid TOML: 'utf-8' codec can't decode byte 0x89 in position 0: "
        "invalid start byte",
    ),
]

WORLD = [
    case("database down: today", "today", 1, REFUSED, DATABASE_URL=DOWN),
    case("database down: quotes list", "quotes list", 1, REFUSED, DATABASE_URL=DOWN),
    case("database down: db status", "db status", 1, REFUSED, DATABASE_URL=DOWN),
    case("database down: db upgrade", "db upgrade", 1, REFUSED, DATABASE_URL=DOWN),
    case("database down: serve", "serve", 1, REFUSED, DATABASE_URL=DOWN),
    case("database down: import", "quotes import {tmp}/minimal.csv", 1, REFUSED, DATABASE_URL=DOWN),
    case(
        "schema not there yet",
        "db status",
        1,
        "schema at (empty), code needs {head}: run `qotd db upgrade`",
        DATABASE_URL="sqlite:///{tmp}/fresh.sqlite3",
    ),
]

CASES = SETTINGS + ARGUMENTS + FILES + WORLD


def make_files(folder: Path) -> None:
    """The files the cases name, in `folder`."""
    (folder / "folder.json").mkdir()
    (folder / "empty.json").write_bytes(b"")
    (folder / "image.json").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (folder / "nul.csv").write_bytes(b"id,\x00text\n")
    with (folder / "huge.json").open("wb") as huge:  # sparse: 11 MB that take no disk
        huge.truncate(11 * 1024 * 1024)
    header = "id,text,speaker,source\n"
    (folder / "minimal.csv").write_text(header + "u-1,A sentence said once.,Sergey Lavrov,comite-lavrov-fp\n")
    (folder / "quotes.txt").write_text(header)
    (folder / "broken.json").write_text("{not json")
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "nested.json").write_text(json.dumps({"quotes": [[[[[[[[["x"]]]]]]]]]}))
    (folder / "other-format.json").write_text(
        json.dumps({"format": "someone-else", "version": 1, "quotes": []})
    )
    (folder / "version-2.json").write_text(json.dumps({"format": "qotd-quotes", "version": 2, "quotes": []}))
    (folder / "no-speaker.csv").write_text("id,text,source\nu-1,A sentence.,comite-lavrov-fp\n")
    (folder / "no-id.csv").write_text("text,speaker,source\nA sentence.,Sergey Lavrov,comite-lavrov-fp\n")
    (folder / "typo.csv").write_text(
        "id,text,speeker,source\nu-1,A sentence.,Sergey Lavrov,comite-lavrov-fp\n"
    )
    (folder / "extra-cells.csv").write_text(
        header + "u-1,One.,Sergey Lavrov,comite-lavrov-fp\nu-2,Two.,Sergey Lavrov,comite-lavrov-fp,extra\n"
    )
    (folder / "unknown-source.csv").write_text(header + "u-1,One.,Sergey Lavrov,nowhere\n")
    (folder / "bad-date.csv").write_text(
        "id,text,speaker,source,date\n"
        "u-1,One.,Sergey Lavrov,comite-lavrov-fp,2013\n"
        "u-2,Two.,Sergey Lavrov,comite-lavrov-fp,2013-02-30\n"
    )


def fill(text: str, tmp: Path, head: str) -> str:
    return text.replace("{tmp}", str(tmp)).replace("{head}", head)


def run(case_: Case, tmp: Path, base_env: dict[str, str], head: str) -> tuple[int, str, str]:
    """Run a case's `qotd` in a subprocess (the way a user does); return status, stdout, stderr."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(root)} | base_env
    env |= {k: fill(v, tmp, head) for k, v in case_.env.items()}
    argv = [fill(a, tmp, head) for a in case_.argv]
    done = subprocess.run(
        [sys.executable, "-m", "qotd", *argv], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    return done.returncode, done.stdout, done.stderr


def markdown() -> str:
    """Run every case on a fresh SQLite database; return the table of what each prints."""
    import contextlib
    import io
    import shlex
    import tempfile

    from qotd.cli import main
    from quotes.store import Store

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        make_files(tmp)
        env = {"DATA_DIR": str(tmp / "data"), "DATABASE_URL": f"sqlite:///{tmp / 'qotd.sqlite3'}"}
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["db", "upgrade"], env) == 0
        store = Store.connect(env["DATABASE_URL"])
        head = store.head_revision()
        store.close()
        rows = ["| # | case | command | status | the one line on stderr |", "| --- | --- | --- | --- | --- |"]
        for number, c in enumerate(CASES, 1):
            status, _, err = run(c, tmp, env, head)
            line = err.strip().replace(str(tmp), "$TMP").replace("|", "\\|")
            variables = " ".join(f"{k}={shlex.quote(v)}" for k, v in c.env.items())
            command = f"{variables} qotd {' '.join(c.argv)}".strip().replace("{tmp}", "$TMP")
            rows.append(f"| {number} | {c.name} | `{command}` | {status} | {line} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown())
