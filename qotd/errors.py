"""The command line's error contract: every failure is one line on stderr and an exit status.

2: usage and input (an argument, a setting, a file); 1: the world (the database unreachable or
not ready, an unexpected failure). `qotd -v`/`--debug` adds the traceback above the line.
Commands raise `Failure` for what they refuse; `failure_of` translates what the libraries raise
(SQLAlchemy, the file system, the parsers) into the same form, so a new subcommand only raises.
"""

from __future__ import annotations

import errno

import sqlalchemy as sa

from qotd.settings import ConfigError
from quotes.corpus import CorpusError
from quotes.selection import NoQuoteError
from quotes.store import SchemaOutdated
from quotes.transfer import ImportFileError

USAGE = 2  # the command, its arguments, its settings or its files are wrong
WORLD = 1  # what the command needs is not there: a database down, an outdated schema


class Failure(Exception):
    """A command cannot do what it was asked: `line` says why, `status` is the exit status.

    `report`, if any, is what the command found (a list of problems) and goes to stdout.
    """

    def __init__(self, line: str, status: int = USAGE, report: str = ""):
        super().__init__(line)
        self.line, self.status, self.report = line, status, report


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), text.strip())


def file_failure(exc: OSError, doing: str = "") -> Failure:
    """`cannot read /x: No such file or directory` — the file and the system's reason."""
    what = f"cannot {doing} " if doing else ""
    reason = exc.strerror or errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    if exc.filename is None:
        return Failure(f"{what}a file: {reason}")
    return Failure(f"{what}{exc.filename}: {reason}")


def failure_of(exc: BaseException) -> Failure | None:
    """Translate a known exception into the contract's form; None for one nobody expected."""
    if isinstance(exc, Failure):
        return exc
    if isinstance(exc, ConfigError | CorpusError | ImportFileError):
        return Failure(str(exc), USAGE)
    if isinstance(exc, SchemaOutdated | NoQuoteError):
        return Failure(str(exc), WORLD)
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        reason = _first_line(str(exc.orig)) if exc.orig is not None else type(exc).__name__
        return Failure(
            f"database unreachable ({reason}); check DATABASE_URL and that the server is up", WORLD
        )
    if isinstance(exc, sa.exc.DBAPIError):
        reason = _first_line(str(exc.orig)) if exc.orig is not None else type(exc).__name__
        return Failure(f"the database refused the command ({reason})", WORLD)
    if isinstance(exc, IsADirectoryError | NotADirectoryError | FileNotFoundError | PermissionError):
        return file_failure(exc)
    if isinstance(exc, OSError) and exc.filename is not None:
        return file_failure(exc)
    return None
