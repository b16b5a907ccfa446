"""Bot API parameters as Telegram's server reads them: any value may come as a string (a query
string or a form-encoded body) or as JSON; ``_s``, ``_i``, ``_b`` and ``_j`` read a parameter as
a string, an integer, a boolean or a JSON value, with the server's leniency and its error for
JSON that does not parse.
"""

from __future__ import annotations

from typing import Any

import orjson

from . import errors as E

Json = dict[str, Any]


def _s(p: Json, name: str) -> str | None:
    v = p.get(name)
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    return orjson.dumps(v).decode()


def _i(p: Json, name: str, default: int = 0) -> int:
    v = p.get(name)
    if v is None or v == "":
        return default
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    try:
        return int(str(v).strip())
    except ValueError:
        try:
            return int(float(str(v)))
        except ValueError:
            return default


def _b(p: Json, name: str) -> bool:
    v = p.get(name)
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1")
    return bool(v)


def _j(p: Json, name: str, what: str) -> Any:
    v = p.get(name)
    if isinstance(v, str):
        if v == "":
            return None
        try:
            return orjson.loads(v)
        except orjson.JSONDecodeError:
            raise E.bad_request(f"can't parse {what} JSON object") from None
    return v
