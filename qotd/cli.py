"""The `qotd` command: the quote of the day, the corpus, the database, and the service."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from feed.published import ensure_pick, feeds_for, site_for
from qotd.settings import ConfigError, Settings
from quotes.corpus import CorpusError, check_corpus, load_corpus
from quotes.days import day_of, day_record, quote_of
from quotes.model import Pick, Source
from quotes.selection import NoQuoteError
from quotes.store import SchemaOutdated, Store
from quotes.transfer import ImportFileError, export_csv, export_json, parse_import, pick_record

MAX_PREVIEW_DAYS = 3660


class CommandError(Exception):
    """A command cannot do what it was asked; the message says why."""


def _date_arg(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date as YYYY-MM-DD") from None


def _days_arg(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_PREVIEW_DAYS:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of days from 1 to {MAX_PREVIEW_DAYS}")
    return int(value)


def _source_lines(label: str, source: Source) -> list[str]:
    line = f"{label}: {source.title} — {source.publisher or 'publisher unknown'} ({source.dates_text()})"
    return [line, f"  {source.url}"] if source.url else [line]


def render_text(pick: Pick, source: Source, cites: Source | None) -> str:
    """Render a pick as plain text: the quote, its attribution, its source and date."""
    quote = pick.quote
    role = f", {quote.speaker_role}" if quote.speaker_role else ""
    lines = [f"“{quote.text}”", f"— {quote.speaker}{role}, {quote.date.human()}", ""]
    lines += _source_lines("Source", source)
    if cites is not None:
        lines += _source_lines("Cites", cites)
    status = "" if pick.stored else " (preview: not fixed yet)"
    pinned = ", pinned" if pick.pinned else ""
    lines.append(f"Quote of the day for {pick.date.isoformat()}{status} · id {quote.id}{pinned}")
    return "\n".join(lines)


def open_store(settings: Settings, now: dt.datetime) -> Store:
    """Connect, bring the schema and the curated corpus up to date, and return the store."""
    store = Store.connect(settings.database_url)
    try:
        store.prepare(load_corpus(), now)
    except BaseException:
        store.close()
        raise
    return store


def _print_pick(store: Store, pick: Pick, as_json: bool) -> str:
    source, cites = store.provenance(pick.quote)
    if as_json:
        return json.dumps(pick_record(pick, source, cites), ensure_ascii=False, indent=2)
    return render_text(pick, source, cites)


def cmd_today(args, settings: Settings, now: dt.datetime) -> str:
    """Today's quote by the one rule (quotes.days); another date is read, never stored: a past
    one that was never published says so, a future one is a preview."""
    today = day_of(now, settings.timezone)
    day = args.date or today
    if (day - today).days >= MAX_PREVIEW_DAYS:
        raise CommandError(f"{day} is too far ahead to preview (at most {MAX_PREVIEW_DAYS} days)")
    with _store(settings, now) as store:
        result = quote_of(store, day, now, settings.timezone)
        pick = result.shown
        if pick is None:
            if args.json:
                return json.dumps(day_record(result, None), ensure_ascii=False, indent=2)
            text = result.absent_text()
            return text[0].upper() + text[1:] + "."
        if args.json:
            record = day_record(result, pick_record(pick, *store.provenance(pick.quote)))
            return json.dumps(record, ensure_ascii=False, indent=2)
        return _print_pick(store, pick, False)


def cmd_schedule(args, settings: Settings, now: dt.datetime) -> str:
    start = args.start or settings.today(now)
    with _store(settings, now) as store:
        picks = store.schedule(start, args.days, now)
        if args.json:
            return json.dumps(
                [pick_record(p, *store.provenance(p.quote)) for p in picks], ensure_ascii=False, indent=2
            )
        rows = []
        for p in picks:
            flag = "fixed" if p.stored else ("pinned" if p.pinned else "preview")
            text = p.quote.text if len(p.quote.text) <= 70 else p.quote.text[:69] + "…"
            rows.append(f"{p.date.isoformat()}  {p.quote.id:<10} {flag:<8} {text}")
        return "\n".join(rows)


def cmd_quotes_list(args, settings: Settings, now: dt.datetime) -> str:
    with _store(settings, now) as store:
        quotes = list(store.quotes(include_hidden=args.all))
        if args.json:
            return json.dumps([store.record(q) for q in quotes], ensure_ascii=False, indent=2)
        rows = []
        for q in quotes:
            text = q.text if len(q.text) <= 70 else q.text[:69] + "…"
            rows.append(f"{q.id:<10} {q.date.human():<17} {'hidden ' if q.hidden else ''}{text}")
        return "\n".join(rows)


def cmd_quotes_show(args, settings: Settings, now: dt.datetime) -> str:
    with _store(settings, now) as store:
        quote = store.quote(args.id)
        if quote is None:
            raise CommandError(f"there is no quote {args.id!r} (see `qotd quotes list`)")
        record = store.record(quote)
        if args.json:
            return json.dumps(record, ensure_ascii=False, indent=2)
        source, cites = store.provenance(quote)
        lines = [render_text(Pick(dt.date.min, quote, 0), source, cites).rsplit("\n", 1)[0]]
        lines.append(f"id {quote.id} · {quote.origin}{' · hidden' if quote.hidden else ''}")
        if quote.paragraph is not None:
            lines.append(f"In {source.document}: paragraph {quote.paragraph}, character {quote.offset}")
        lines += [f"Topics: {', '.join(quote.topics)}"] if quote.topics else []
        lines += [f"Note: {n}" for n in quote.notes]
        lines += [f"Source note: {n}" for n in source.notes]
        return "\n".join(lines)


def cmd_quotes_check(args, settings: Settings, now: dt.datetime) -> str:
    corpus = load_corpus(args.corpus)
    problems = check_corpus(corpus)
    if problems:
        raise CommandError(
            "\n".join(str(p) for p in problems)
            + f"\n{len(problems)} problem(s) in {len(corpus.quotes)} quotes"
        )
    documents = len({q.source for q in corpus.quotes})
    return f"{len(corpus.quotes)} quotes checked against {documents} documents: all verbatim"


def cmd_quotes_export(args, settings: Settings, now: dt.datetime) -> str:
    with _store(settings, now) as store:
        records = [store.record(q) for q in store.quotes()]
    text = export_json(records) if args.format == "json" else export_csv(records)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        return f"exported {len(records)} quotes to {args.output}"
    return text.rstrip("\n")


def cmd_quotes_import(args, settings: Settings, now: dt.datetime) -> str:
    path = Path(args.file)
    fmt = args.format or ("csv" if path.suffix.lower() == ".csv" else "json")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    with _store(settings, now) as store:
        known = {s.id: s for s in store.sources()}
        try:
            parsed = parse_import(data, fmt, settings.today(now), known)
        except ImportFileError as exc:
            raise CommandError(f"{path}: {exc}; nothing was imported") from None
        counts = store.save(parsed.sources, parsed.quotes, "cli", now)
    return f"imported {path}: " + ", ".join(f"{n} {what}" for what, n in counts.items())


def cmd_db_upgrade(args, settings: Settings, now: dt.datetime) -> str:
    store = Store.connect(settings.database_url)
    try:
        before, after = store.upgrade()
        report = store.load_corpus(load_corpus(), now)
    finally:
        store.close()
    moved = "already up to date" if before == after else f"upgraded from {before or '(empty)'}"
    return f"database schema at {after} ({moved}); curated corpus: {report}"


def cmd_db_status(args, settings: Settings, now: dt.datetime) -> str:
    store = Store.connect(settings.database_url)
    try:
        current, head = store.schema_revision(), store.head_revision()
    finally:
        store.close()
    if current != head:
        raise CommandError(f"schema at {current or '(empty)'}, code needs {head}: run `qotd db upgrade`")
    return f"schema at {head}: up to date"


def cmd_feed_build(args, settings: Settings, now: dt.datetime) -> str:
    from qotd.feed_files import write_atomically

    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"cannot create {out}: {exc.strerror}") from None
    site = site_for(settings)
    with _store(settings, now) as store:
        feeds = feeds_for(store, site, settings.feed_days, ensure_pick(store, site, now))
    files = {"rss.xml": feeds.rss, "atom.xml": feeds.atom, "feed.json": feeds.json}
    for name, body in files.items():
        try:
            write_atomically(out / name, body)
        except OSError as exc:
            raise CommandError(f"cannot write {out / name}: {exc.strerror}") from None
    return f"wrote {', '.join(files)} to {out} (feeds served from {site.url})"


def cmd_serve(args, settings: Settings, now: dt.datetime) -> str:
    from qotd.serve import ServeError, run

    store = open_store(settings, now)  # upgrades an embedded SQLite database, loads the corpus
    try:
        run(settings, store)
    except ServeError as exc:
        raise CommandError(str(exc)) from None
    return ""


def cmd_deliver(args, settings: Settings, now: dt.datetime) -> str:
    from qotd.deliver import DeliverError, deliver

    try:
        deliver(args, settings)
    except DeliverError as exc:
        raise CommandError(str(exc)) from None
    return ""


class _store:
    """`with _store(settings, now) as store:` — an up-to-date store, closed afterwards."""

    def __init__(self, settings: Settings, now: dt.datetime):
        self.settings, self.now = settings, now

    def __enter__(self) -> Store:
        self.store = open_store(self.settings, self.now)
        return self.store

    def __exit__(self, *exc) -> None:
        self.store.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qotd", description="Quote of the day: curated, source-checked quotes for Telegram and feeds."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    today = sub.add_parser(
        "today", help="print today's quote (the current date in TIMEZONE; fixed on first need)"
    )
    today.add_argument(
        "--date", type=_date_arg, help="another date, YYYY-MM-DD (read only: a future one is a preview)"
    )
    today.add_argument("--json", action="store_true", help="print JSON")
    today.set_defaults(handler=cmd_today)

    schedule = sub.add_parser("schedule", help="preview the coming picks without storing them")
    schedule.add_argument("--days", type=_days_arg, default=7, help="how many days (default 7)")
    schedule.add_argument("--from", dest="start", type=_date_arg, help="first date (default today)")
    schedule.add_argument("--json", action="store_true", help="print JSON")
    schedule.set_defaults(handler=cmd_schedule)

    quotes = sub.add_parser("quotes", help="list, show, check, export and import quotes")
    qsub = quotes.add_subparsers(dest="quotes_command", required=True, metavar="ACTION")
    qlist = qsub.add_parser("list", help="list the quotes")
    qlist.add_argument("--all", action="store_true", help="include hidden quotes")
    qlist.add_argument("--json", action="store_true", help="print JSON")
    qlist.set_defaults(handler=cmd_quotes_list)
    qshow = qsub.add_parser("show", help="show one quote with its full provenance")
    qshow.add_argument("id")
    qshow.add_argument("--json", action="store_true", help="print JSON")
    qshow.set_defaults(handler=cmd_quotes_show)
    qcheck = qsub.add_parser("check", help="verify every curated quote against its source document")
    qcheck.add_argument("--corpus", type=Path, help="a corpus.toml to check (default: the shipped one)")
    qcheck.set_defaults(handler=cmd_quotes_check)
    qexport = qsub.add_parser("export", help="export every quote with its provenance")
    qexport.add_argument("--format", choices=("json", "csv"), default="json")
    qexport.add_argument("-o", "--output", help="write to this file instead of standard output")
    qexport.set_defaults(handler=cmd_quotes_export)
    qimport = qsub.add_parser("import", help="import quotes from a JSON or CSV export (all or nothing)")
    qimport.add_argument("file")
    qimport.add_argument("--format", choices=("json", "csv"), help="default: from the file's suffix")
    qimport.set_defaults(handler=cmd_quotes_import)

    db = sub.add_parser("db", help="database schema")
    dsub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    dsub.add_parser("upgrade", help="apply pending migrations and load the curated corpus").set_defaults(
        handler=cmd_db_upgrade
    )
    dsub.add_parser("status", help="say whether the schema is up to date").set_defaults(handler=cmd_db_status)

    feed = sub.add_parser("feed", help="the RSS, Atom and JSON feeds")
    fsub = feed.add_subparsers(dest="feed_command", required=True, metavar="ACTION")
    fbuild = fsub.add_parser("build", help="write rss.xml, atom.xml and feed.json for a static host")
    fbuild.add_argument("--out", required=True, help="folder to write the three files to")
    fbuild.set_defaults(handler=cmd_feed_build)

    sub.add_parser("serve", help="run the site, the feeds, the bot and the scheduler").set_defaults(
        handler=cmd_serve
    )

    deliver = sub.add_parser(
        "deliver", help="catch up and deliver what is due (--once), or run the scheduler"
    )
    mode = deliver.add_mutually_exclusive_group(required=True)
    mode.add_argument("--once", action="store_true", help="become leader, deliver what is due, exit")
    mode.add_argument("--serve", action="store_true", help="run the scheduler until SIGTERM")
    deliver.add_argument("--now", type=dt.datetime.fromisoformat, help="pretend the clock starts here (ISO)")
    deliver.add_argument("--rate", type=float, help="messages/second to pace at (default: the limit × 0.99)")
    deliver.add_argument("--concurrency", type=int, help="requests in flight at most")
    deliver.add_argument("--standby-poll", type=float, default=5.0, help="seconds between leadership tries")
    deliver.set_defaults(handler=cmd_deliver)

    emu = sub.add_parser(
        "emulator",
        help="run the local Telegram Bot API emulator (see docs/emulator.md)",
        add_help=False,
    )
    emu.add_argument("emulator_args", nargs=argparse.REMAINDER, help="--port 8081, --help, ...")
    return parser


def main(
    argv: list[str] | None = None, env: dict[str, str] | None = None, now: dt.datetime | None = None
) -> int:
    """Run a `qotd` command; tests pass the environment and the time in."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["emulator"]:  # its own options (argparse's REMAINDER drops a leading --help)
        from emulator.cli import main as emulator_main

        return emulator_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(env)
        output = args.handler(args, settings, now or settings.now())
    except (CommandError, ConfigError, CorpusError, SchemaOutdated, NoQuoteError) as exc:
        print(f"qotd: {exc}", file=sys.stderr)
        return 1
    if output:
        print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
