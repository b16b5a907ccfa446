"""A small DevTools-protocol driver for headless Chromium (over `websockets`, no other dependency)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import websockets

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
]
_LISTENING = re.compile(rb"DevTools listening on (ws://\S+)")


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """Chromium with a fresh profile, driven over one DevTools websocket."""

    def __init__(self, executable: str, profile: Path):
        self.executable, self.profile = executable, profile
        self.events: list[dict] = []
        self._ids = 0
        self._pending: dict[int, asyncio.Future] = {}
        self._changed = asyncio.Event()

    def _launch(self) -> str:
        self.process = subprocess.Popen(
            [self.executable, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        return self._devtools_url()

    async def __aenter__(self) -> Browser:
        url = await asyncio.to_thread(self._launch)
        self.ws = await websockets.connect(url, max_size=None)
        self._reader = asyncio.create_task(self._read())
        return self

    def _devtools_url(self) -> str:
        seen = b""
        for line in self.process.stderr:
            seen += line
            match = _LISTENING.search(line)
            if match:
                return match.group(1).decode()
        raise RuntimeError(f"Chromium did not start its DevTools endpoint:\n{seen.decode(errors='replace')}")

    async def __aexit__(self, *exc) -> None:
        with contextlib.suppress(Exception):
            await self.send("Browser.close")
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader
        await self.ws.close()
        try:
            await asyncio.to_thread(self.process.wait, 10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stderr.close()

    async def _read(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)
            if "id" in message and message["id"] in self._pending:
                future = self._pending.pop(message["id"])
                if "error" in message:
                    future.set_exception(RuntimeError(f"DevTools error: {message['error']}"))
                else:
                    future.set_result(message.get("result", {}))
            else:
                self.events.append(message)
                self._changed.set()

    async def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._ids += 1
        message = {"id": self._ids, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        future = asyncio.get_running_loop().create_future()
        self._pending[self._ids] = future
        await self.ws.send(json.dumps(message))
        return await asyncio.wait_for(future, timeout=30)

    async def wait_event(self, method: str, session: str, after: int) -> dict:
        """Wait (up to 30 s) for an event of a session, among those that came after `after`."""
        async with asyncio.timeout(30):
            while True:
                for event in self.events[after:]:
                    if event.get("method") == method and event.get("sessionId") == session:
                        return event
                self._changed.clear()
                await self._changed.wait()

    async def new_page(
        self, width: int = 390, height: int = 844, mobile: bool = True, scale: float = 3
    ) -> Page:
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        page = Page(self, attached["sessionId"])
        for domain in ("Page", "Runtime", "Log"):
            await page.send(f"{domain}.enable")
        await page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": mobile},
        )
        return page


class Page:
    def __init__(self, browser: Browser, session: str):
        self.browser, self.session = browser, session

    async def send(self, method: str, params: dict | None = None) -> dict:
        return await self.browser.send(method, params, self.session)

    async def goto(self, url: str) -> None:
        mark = len(self.browser.events)
        result = await self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise RuntimeError(f"navigation to {url} failed: {result['errorText']}")
        await self.browser.wait_event("Page.loadEventFired", self.session, mark)

    async def evaluate(self, expression: str, await_promise: bool = False):
        params = {"expression": expression, "returnByValue": True, "awaitPromise": await_promise}
        result = await self.send("Runtime.evaluate", params)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def screenshot(self, path: Path) -> None:
        """Save the whole page (not only the viewport) as a PNG."""
        metrics = await self.send("Page.getLayoutMetrics")
        size = metrics["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = await self.send(
            "Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True}
        )
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads reported for this page."""
        found = []
        for event in self.browser.events:
            if event.get("sessionId") != self.session:
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(json.dumps(params["exceptionDetails"])[:500])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(json.dumps(params.get("args"))[:500])
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                found.append(f"{params['entry'].get('text')} {params['entry'].get('url', '')}")
        return found
