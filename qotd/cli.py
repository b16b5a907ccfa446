"""The `qotd` command: the quote of the day, the corpus, the database, and the service."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tomllib
import traceback
from importlib import metadata
from pathlib import Path
from typing import NoReturn

from feed.published import ensure_pick, feeds_for, site_for
from qotd.errors import USAGE, WORLD, Failure, failure_of, file_failure
from qotd.logs import Redactor, configure, secrets_from_env
from qotd.settings import VARIABLES, Settings
from quotes.corpus import CorpusError, check_corpus, load_corpus
from quotes.curation import Draft, DraftError, NewSource, add_quote, add_source, check_draft
from quotes.days import day_of, day_record, quote_of
from quotes.documents import DocumentError, read_upload
from quotes.model import Pick, Quote, Source
from quotes.store import CuratedChange, Store
from quotes.transfer import ImportFileError, export_csv, export_json, format_for, parse_import, pick_record
from quotes.verification import sentence

MAX_PREVIEW_DAYS = 3660
FIRST_DATE = dt.date(1900, 1, 1)  # no quote is older; the day arithmetic needs room below


class CommandError(Failure):
    """A command cannot do what it was asked; the message says why (exit status 2 unless told).

    A new subcommand raises it (or lets a known exception through: qotd/errors.py translates it).
    """


def _date_arg(value: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date as YYYY-MM-DD") from None
    if day < FIRST_DATE:
        raise argparse.ArgumentTypeError(f"{value!r} is before {FIRST_DATE}, the first day qotd knows")
    return day


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


def connect(settings: Settings) -> Store:
    """Connect to DATABASE_URL (creating the SQLite file's folder; a folder that cannot be made
    is named with the settings that chose it)."""
    try:
        return Store.connect(settings.database_url)
    except OSError as exc:
        failure = file_failure(exc, "create the database's folder")
        raise CommandError(f"{failure.line} (set by DATA_DIR or DATABASE_URL)") from None


def open_store(settings: Settings, now: dt.datetime) -> Store:
    """Connect, bring the schema and the curated corpus up to date, and return the store."""
    store = connect(settings)
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
        lines.append(verification_line(quote))
        lines += [f"Topics: {', '.join(quote.topics)}"] if quote.topics else []
        lines += [f"Note: {n}" for n in quote.notes]
        lines += [f"Source note: {n}" for n in source.notes]
        return "\n".join(lines)


def _check_corpus_file(path: Path | None) -> str:
    try:
        corpus = load_corpus(path)
    except CorpusError as exc:
        raise CommandError(f"{path or 'the shipped corpus'}: {exc}") from None
    except OSError as exc:
        raise file_failure(exc, "read") from None
    problems = check_corpus(corpus)
    if problems:
        raise CommandError(
            f"{len(problems)} problem(s) in {len(corpus.quotes)} quotes (listed above)",
            report="\n".join(str(p) for p in problems),
        )
    documents = len({q.source for q in corpus.quotes})
    return f"{len(corpus.quotes)} quotes checked against {documents} documents: all verbatim"


def cmd_quotes_check(args, settings: Settings, now: dt.datetime) -> str:
    """The database (what is served) and the corpus file; `--corpus FILE`: that file alone."""
    if args.corpus is not None:
        return _check_corpus_file(args.corpus)
    with _store(settings, now) as store:
        report = store.check()
    lines = [
        f"database: {report.verified} of {report.quotes} quotes verified against their held documents; "
        f"{report.documents} documents held"
    ]
    if report.unverified:
        lines.append(f"unverified ({len(report.unverified)}):")
        lines += [f"  {quote_id}: {reason}" for quote_id, reason in report.unverified]
    if not report.ok:
        lines += [f"FAILED {failure}" for failure in report.failures]
        raise CommandError(
            f"{len(report.failures)} problem(s) (listed above): a quote shown as verified fails, "
            "or a document changed",
            status=WORLD,  # the input is fine: what is served is not
            report="\n".join(lines),
        )
    return "\n".join([*lines, "corpus file: " + _check_corpus_file(None)])


def cmd_quotes_add(args, settings: Settings, now: dt.datetime) -> str:
    """Add a quote without Telegram: the same checks as /add, the text located in its source."""
    draft = Draft(
        text=args.text,
        speaker=args.speaker,
        role=args.role,
        source_id=args.source,
        date=args.date,
        topics=args.topics,
        notes=list(args.note or []),
    )
    with _store(settings, now) as store:
        try:
            checked = check_draft(store, draft, settings.today(now), now)
            quote = add_quote(store, checked, "cli", now, unverified=args.unverified)
        except DraftError as exc:
            # One line on stderr; where the text departs from the copy (several lines) on stdout.
            first, _, details = str(exc).partition("\n")
            hint = "; --unverified saves it as unverified" if checked_missing(exc) else ""
            raise CommandError(f"{first.rstrip(':')}; nothing was saved{hint}", report=details) from None
    return f"added {quote.id}: {verification_line(quote)}"


def checked_missing(exc: DraftError) -> bool:
    return exc.field == "text" and "not in the source's copy" in exc.problem


def verification_line(quote: Quote) -> str:
    v = quote.verification
    where = f" ({v.document}, character {v.offset})" if v.verified else ""
    return sentence(v) + where


def cmd_sources_add(args, settings: Settings, now: dt.datetime) -> str:
    """Store a new source with its held copy (plain text, HTML or Markdown); print its id."""
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise file_failure(exc, "read") from None
    with _store(settings, now) as store:
        try:
            upload = read_upload(data, path.name, None, f"cli: {path.name}")
            given = NewSource(
                title=args.title, url=args.url, publisher=args.publisher, date=args.date, upload=upload
            )
            source, document = add_source(store, given, "cli", now, settings.today(now), args.id)
        except (DocumentError, DraftError) as exc:
            raise CommandError(f"{path}: {exc}; nothing was stored") from None
    assert document is not None  # the source was given its upload
    found = upload.extracted
    return (
        f"{source.id}\n{source.title!r}: {len(found.text)} characters, {found.paragraphs} paragraphs "
        f"(document {document.id}, sha256 {document.sha256})"
    )


def _format(path: Path, given: str | None, doing: str) -> str:
    """The format `--format` gives, else the one the file's suffix says."""
    fmt = given or format_for(path.name)
    if fmt is None:
        raise CommandError(
            f"{path}: cannot tell the format from the suffix {path.suffix!r}; "
            f"{doing} .json or .csv, or give --format"
        )
    return fmt


def cmd_quotes_export(args, settings: Settings, now: dt.datetime) -> str:
    output = Path(args.output) if args.output else None
    fmt = _format(output, args.format, "name it") if output else (args.format or "json")
    with _store(settings, now) as store:
        records = [store.record(q) for q in store.quotes()]
    text = export_json(records) if fmt == "json" else export_csv(records)
    if output is None:
        return text.rstrip("\n")
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise file_failure(exc, "write") from None
    return f"exported {len(records)} quotes to {output} as {fmt}"


def read_import_file(path: Path, limit: int) -> bytes:
    """Read an import file, refusing one over `limit` bytes before reading (and parsing) it."""
    try:
        with path.open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size > limit:
                raise CommandError(
                    f"{path} is {size:,} bytes; IMPORT_MAX_BYTES allows {limit:,}: "
                    "split the file or raise the limit"
                )
            data = file.read(limit + 1)  # a pipe or /proc file has no size: read one byte over
    except OSError as exc:
        raise file_failure(exc, "read") from None
    if len(data) > limit:
        raise CommandError(
            f"{path} is over {limit:,} bytes (IMPORT_MAX_BYTES): split the file or raise the limit"
        )
    if not data.strip():
        raise CommandError(f"{path} is empty: nothing to import")
    return data


def cmd_quotes_import(args, settings: Settings, now: dt.datetime) -> str:
    path = Path(args.file)
    fmt = _format(path, args.format, "name it")
    data = read_import_file(path, settings.import_max_bytes)
    with _store(settings, now) as store:
        known = {s.id: s for s in store.sources()}
        stored = {q.id: q for q in store.quotes()}
        try:
            parsed = parse_import(data, fmt, settings.today(now), known, stored, collect=args.dry_run)
        except ImportFileError as exc:
            raise CommandError(f"{path}: {exc}; nothing was imported") from None
        try:
            counts = store.save(parsed.sources, parsed.quotes, "cli", now, dry_run=args.dry_run)
        except CuratedChange as exc:
            raise CommandError(f"{path}: row {exc.row(parsed.quotes)}: {exc}; nothing was imported") from None
    summary = ", ".join(f"{n} {what}" for what, n in counts.items())
    if not args.dry_run:
        return f"imported {path}: {summary}"
    report = f"dry run of {path}: would be {summary}, {len(parsed.refused)} refused"
    if parsed.refused:
        raise CommandError(
            f"{path}: {len(parsed.refused)} record(s) would be refused (listed above); nothing was imported",
            report="\n".join([report, *(f"refused: {e}" for e in parsed.refused)]),
        )
    return report + "; nothing was written"


def cmd_db_upgrade(args, settings: Settings, now: dt.datetime) -> str:
    store = connect(settings)
    try:
        before, after = store.upgrade()
        report = store.load_corpus(load_corpus(), now)
    finally:
        store.close()
    moved = "already up to date" if before == after else f"upgraded from {before or '(empty)'}"
    return f"database schema at {after} ({moved}); curated corpus: {report}"


def cmd_db_status(args, settings: Settings, now: dt.datetime) -> str:
    store = connect(settings)
    try:
        current, head = store.schema_revision(), store.head_revision()
    finally:
        store.close()
    if current != head:
        raise CommandError(
            f"schema at {current or '(empty)'}, code needs {head}: run `qotd db upgrade`", WORLD
        )
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
            raise file_failure(exc, "write") from None
    return f"wrote {', '.join(files)} to {out} (feeds served from {site.url})"


def cmd_serve(args, settings: Settings, now: dt.datetime) -> str:
    from qotd.serve import ServeError, run

    store = open_store(settings, now)  # upgrades an embedded SQLite database, loads the corpus
    try:
        run(settings, store, host=args.host, port=args.port or settings.port)
    except ServeError as exc:
        raise CommandError(str(exc), WORLD) from None
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


class Parser(argparse.ArgumentParser):
    """argparse, with its errors as the contract's one line (exit status 2) instead of usage text."""

    def error(self, message: str) -> NoReturn:
        where = f"{self.prog}: " if self.prog != "qotd" else ""  # main() adds "qotd: " to the rest
        raise Failure(f"{where}{message} (see `{self.prog} --help`)", USAGE)


def _port_arg(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port from 1 to 65535")
    return int(value)


def _count_arg(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least 1")
    return int(value)


def _positive_arg(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number > 0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number")
    return number


def _instant_arg(value: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO time such as 2026-11-23T09:00:00+00:00"
        ) from None


def environment_help() -> str:
    """The environment variables, as `qotd serve --help` lists them (from settings.VARIABLES)."""
    width = max(len(name) for name, _, _ in VARIABLES)
    lines = ["environment variables (read once at start; see the README's configuration table):"]
    lines += [f"  {name:<{width}}  {meaning} Default: {default}." for name, default, meaning in VARIABLES]
    return "\n".join(lines)


def version() -> str:
    """The installed distribution's version, or (run from a checkout) the one pyproject.toml says."""
    try:
        return metadata.version("qotd")
    except metadata.PackageNotFoundError:
        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown (neither installed nor in a checkout)"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="qotd", description="Quote of the day: curated, source-checked quotes for Telegram and feeds."
    )
    parser.add_argument("--version", action="version", version=f"qotd {version()}")
    parser.add_argument(
        "-v", "--debug", action="store_true", help="on an error, show the traceback above its one line"
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
    qcheck = qsub.add_parser(
        "check", help="check every quote in the database against its held document, and the corpus file"
    )
    qcheck.add_argument("--corpus", type=Path, help="check this corpus.toml alone (not the database)")
    qcheck.set_defaults(handler=cmd_quotes_check)
    qadd = qsub.add_parser("add", help="add a quote, located in its source's held copy")
    qadd.add_argument("--source", required=True, help="the source's id (qotd sources add prints it)")
    qadd.add_argument("--text", required=True, help="the text, exactly as the source has it")
    qadd.add_argument("--speaker", required=True)
    qadd.add_argument("--role", help="the speaker's role at the time")
    qadd.add_argument("--date", required=True, help="15 November 2010, March 2013, 2013 or unknown")
    qadd.add_argument("--topics", help="comma-separated")
    qadd.add_argument("--note", action="append", help="a note (repeatable)")
    qadd.add_argument(
        "--unverified", action="store_true", help="save it even if the text is not in the source"
    )
    qadd.set_defaults(handler=cmd_quotes_add)
    qexport = qsub.add_parser("export", help="export every quote with its provenance")
    qexport.add_argument(
        "--format", choices=("json", "csv"), help="default: from the output file's suffix (json to stdout)"
    )
    qexport.add_argument("-o", "--output", help="write to this file (.json or .csv) instead of stdout")
    qexport.set_defaults(handler=cmd_quotes_export)
    qimport = qsub.add_parser("import", help="import quotes from a JSON or CSV file (all or nothing)")
    qimport.add_argument("file")
    qimport.add_argument("--format", choices=("json", "csv"), help="default: from the file's suffix")
    qimport.add_argument(
        "--dry-run", action="store_true", help="say what would be added, updated and refused; write nothing"
    )
    qimport.set_defaults(handler=cmd_quotes_import)

    sources = sub.add_parser("sources", help="sources and their held copies")
    ssub = sources.add_subparsers(dest="sources_command", required=True, metavar="ACTION")
    sadd = ssub.add_parser("add", help="store a new source with its copy (.txt, .html, .md); print its id")
    sadd.add_argument("file")
    sadd.add_argument("--title", help="default: the title the file gives")
    sadd.add_argument("--url")
    sadd.add_argument("--publisher")
    sadd.add_argument("--date", help="15 November 2010, March 2013, 2013 or unknown")
    sadd.add_argument("--id", help="the source's id (default: us- and random hex)")
    sadd.set_defaults(handler=cmd_sources_add)

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

    serve = sub.add_parser(
        "serve",
        help="run the site, the feeds, the bot and the scheduler",
        epilog=environment_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    serve.add_argument("--port", type=_port_arg, help="port to bind (default: $PORT, else 8000)")
    serve.set_defaults(handler=cmd_serve)

    deliver = sub.add_parser(
        "deliver", help="catch up and deliver what is due (--once), or run the scheduler"
    )
    mode = deliver.add_mutually_exclusive_group(required=True)
    mode.add_argument("--once", action="store_true", help="become leader, deliver what is due, exit")
    mode.add_argument("--serve", action="store_true", help="run the scheduler until SIGTERM")
    deliver.add_argument("--now", type=_instant_arg, help="pretend the clock starts here (ISO)")
    deliver.add_argument(
        "--rate", type=_positive_arg, help="messages/second to pace at (default: the limit × 0.99)"
    )
    deliver.add_argument("--concurrency", type=_count_arg, help="requests in flight at most")
    deliver.add_argument(
        "--standby-poll", type=_positive_arg, default=5.0, help="seconds between leadership tries"
    )
    deliver.set_defaults(handler=cmd_deliver)

    emu = sub.add_parser(
        "emulator",
        help="run the local Telegram Bot API emulator (see docs/emulator.md)",
        add_help=False,
    )
    emu.add_argument("emulator_args", nargs=argparse.REMAINDER, help="--port 8081, --help, ...")
    return parser


def unexpected(exc: BaseException) -> Failure:
    """What nobody foresaw: still one line (status 1), and the way to the traceback."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else "no message"
    return Failure(
        f"unexpected {type(exc).__name__}: {message} (a bug: run again with --debug, report the traceback)",
        WORLD,
    )


def _quiet_stdout() -> None:
    """After a broken pipe (`qotd today --json | head`): send what is left of stdout nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a file (a test's capture)
        pass


def main(
    argv: list[str] | None = None, env: dict[str, str] | None = None, now: dt.datetime | None = None
) -> int:
    """Run a `qotd` command; tests pass the environment and the time in.

    The error contract (qotd/errors.py): any failure is one line on stderr, `qotd: …`, and exit
    status 2 (usage, input) or 1 (the world); -v/--debug shows the traceback above it.
    """
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["emulator"]:  # its own options (argparse's REMAINDER drops a leading --help)
        from emulator.cli import main as emulator_main

        return emulator_main(argv[1:])
    debug = "-v" in argv or "--debug" in argv
    redact = Redactor(secrets_from_env(os.environ if env is None else env))
    try:
        args = build_parser().parse_args(argv)
        settings = Settings.from_env(env)
        redact = configure(settings)
        output = args.handler(args, settings, now or settings.now())
        if output:
            print(output, flush=True)
    except BrokenPipeError:  # the reader went away (`| head`): nothing to say to anyone
        _quiet_stdout()
        return 1
    except KeyboardInterrupt:
        print("qotd: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        failure = failure_of(exc) or unexpected(exc)
        if debug:
            print(redact("".join(traceback.format_exception(exc))), file=sys.stderr, end="")
        if failure.report:
            print(redact(failure.report), flush=True)
        line = redact(failure.line)
        print(line if line.startswith("qotd ") else f"qotd: {line}", file=sys.stderr)
        return failure.status
    return 0


if __name__ == "__main__":
    sys.exit(main())
