"""A real browser: headless Chromium loads the home, a quote and a source page from `qotd serve`.

Needs Debian's `chromium` package. Outside CI a missing browser skips with the reason; in CI
(CI=true) it fails.
"""

from __future__ import annotations

import os

import httpx
import pytest

from quotes.store import Store
from tests.feed.cdp import Browser, find_chromium
from tests.qotd.process import Served


@pytest.fixture
def chromium() -> str:
    path = find_chromium()
    if path is None:
        reason = "headless Chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI must run the browser test")
        pytest.skip(reason)
    return path


@pytest.fixture
def served(tmp_path):
    database = f"sqlite:///{tmp_path / 'browser.sqlite3'}"
    process = Served(tmp_path, {"DATABASE_URL": database})
    assert process.wait_ready().status_code == 200
    yield process, database
    process.terminate()
    process.close()


async def test_pages_render_in_chromium_without_console_errors(chromium, served, tmp_path):
    server, database = served
    async with httpx.AsyncClient(base_url=server.url) as client:
        today = (await client.get("/feed.json")).json()["items"][0]
    quote_id = today["url"].rsplit("/", 1)[1]
    store = Store.connect(database)
    try:
        quote = store.quote(quote_id)
    finally:
        store.close()

    async with Browser(chromium, tmp_path / "profile") as browser:
        page = await browser.new_page()

        await page.goto(f"{server.url}/")
        assert await page.evaluate("document.querySelector('figure.quote blockquote').innerText.trim()") == (
            " ".join(quote.text.split())
        )
        alternates = await page.evaluate(
            "[...document.querySelectorAll('link[rel=alternate]')].map(l => [l.type, l.href])"
        )
        assert alternates == [
            ["application/rss+xml", f"{server.url}/rss.xml"],
            ["application/atom+xml", f"{server.url}/atom.xml"],
            ["application/feed+json", f"{server.url}/feed.json"],
        ]
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
        assert await page.evaluate("getComputedStyle(document.body).maxWidth") != "none"  # the CSS applied

        await page.goto(f"{server.url}/q/{quote_id}")
        assert await page.evaluate("document.querySelector('blockquote').innerText.trim()") == " ".join(
            quote.text.split()
        )
        source_link = await page.evaluate("document.querySelector('a.in-source').href")
        assert source_link == f"{server.url}/sources/{quote.source}#q-{quote_id}"

        await page.goto(source_link)
        marked = await page.evaluate(f"document.getElementById('q-{quote_id}').nextElementSibling.innerText")
        assert " ".join(quote.text.split()).startswith(" ".join(marked.split()))
        assert await page.evaluate("document.querySelectorAll('section.part.speaker').length") >= 1
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390

        assert page.errors() == []
