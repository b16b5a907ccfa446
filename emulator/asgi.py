"""The emulator's routes as an ASGI application (:func:`asgi_app`), for uvicorn or mounting in
Starlette; the same :class:`~emulator.routes.App` as the built-in server, except that ASGI cannot
drop a connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from .core import Emulator
from .routes import App, Response

Json = dict[str, Any]


def asgi_app(emulator: Emulator) -> Callable[..., Awaitable[None]]:
    """The same routes as an ASGI application (for uvicorn or mounting in Starlette).

    ASGI cannot drop a connection: the ``drop``/``lost`` faults there send headers announcing a
    body and then fail, so the client still sees a broken answer.
    """
    app = App(emulator)

    async def asgi(scope: Json, receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = {k.lower(): v for k, v in scope["headers"]}
        res = app.handle(
            scope["method"],
            scope["path"],
            scope.get("query_string", b"").decode("latin-1"),
            headers,
            b"".join(chunks),
        )
        if not isinstance(res, Response):
            res = await res
        if res.delay:
            await asyncio.sleep(res.delay)
        if res.drop:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"1")],
                }
            )
            raise ConnectionAbortedError("emulator fault: connection dropped")
        await send(
            {
                "type": "http.response.start",
                "status": res.status,
                "headers": [
                    (b"content-type", res.content_type),
                    (b"content-length", str(len(res.body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": res.body})

    return asgi
