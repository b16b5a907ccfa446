"""A real browser: headless Chromium loads the site's pages from `qotd serve`.

Needs Debian's `chromium` package and axe-core from npm (`npm install --prefix tests/feed`,
which .ci/run does). Outside CI a missing browser or axe-core skips with the reason; in CI
(CI=true) it fails. Every page checked is saved as a full-page screenshot in SCREENSHOTS
(out/screenshots/ in the worktree, or $SCREENSHOT_DIR): `<width>x<height>-<page>.png`.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import httpx
import pytest
from PIL import Image

from quotes.store import Store
from tests.feed.cdp import Browser, find_chromium
from tests.qotd.process import ROOT, Served, free_port

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR") or ROOT / "out" / "screenshots")
VIEWPORTS = [(390, 844, True), (1280, 800, False)]  # a phone (mobile, 3x), a laptop
OG_PROPERTIES = [
    "og:title",
    "og:description",
    "og:type",
    "og:url",
    "og:image",
    "og:image:width",
    "og:image:height",
    "og:image:alt",
    "og:image:type",
    "og:locale",
    "og:site_name",
]


def _needed(what: str, ready: bool) -> None:
    if ready:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what}: CI must run the browser tests")
    pytest.skip(what)


@pytest.fixture
def chromium() -> str:
    path = find_chromium()
    _needed("headless Chromium is not installed (apt-get install -y chromium)", path is not None)
    assert path is not None
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """`qotd serve` on a fresh SQLite database, PUBLIC_URL its own address, and today's quote."""
    tmp_path = tmp_path_factory.mktemp("browser")
    database = f"sqlite:///{tmp_path / 'browser.sqlite3'}"
    port = free_port()
    process = Served(tmp_path, {"DATABASE_URL": database, "PUBLIC_URL": f"http://127.0.0.1:{port}"}, port)
    assert process.wait_ready().status_code == 200
    with httpx.Client(base_url=process.url) as client:
        today = client.get("/feed.json").json()["items"][0]
    store = Store.connect(database)
    try:
        quote = store.quote(today["url"].rsplit("/", 1)[1])
    finally:
        store.close()
    yield process, quote
    process.terminate()
    process.close()


async def test_pages_render_in_chromium_without_console_errors(chromium, site, tmp_path):
    server, quote = site
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

        await page.goto(f"{server.url}/q/{quote.id}")
        assert await page.evaluate("document.querySelector('blockquote').innerText.trim()") == " ".join(
            quote.text.split()
        )
        source_link = await page.evaluate("document.querySelector('a.in-source').href")
        assert source_link == f"{server.url}/sources/{quote.source}#q-{quote.id}"

        await page.goto(source_link)
        marked = await page.evaluate(f"document.getElementById('q-{quote.id}').nextElementSibling.innerText")
        assert " ".join(quote.text.split()).startswith(" ".join(marked.split()))
        assert await page.evaluate("document.querySelectorAll('section.part.speaker').length") >= 1
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390

        assert page.errors() == []


# What the page tells of itself: overflow, the narrowest value cell, the og tags, one heading.
MEASURE = """(() => {
  const cells = [...document.querySelectorAll('td, th, dd')].map(c => c.getBoundingClientRect().width);
  const og = {};
  for (const m of document.querySelectorAll('meta[property^="og:"]')) {
    og[m.getAttribute('property')] = m.content;
  }
  return {
    scrollWidth: document.documentElement.scrollWidth,
    viewport: window.innerWidth,
    narrowest: cells.length ? Math.min(...cells) : null,
    og,
    twitter: document.querySelector('meta[name="twitter:card"]')?.content,
    description: document.querySelector('meta[name="description"]')?.content,
    title: document.title,
    headings: document.querySelectorAll('h1').length,
  };
})()"""

# Load og:image as the page would (an <img>), and tell its natural size.
LOAD_IMAGE = """new Promise((resolve) => {
  const img = new Image();
  img.onload = () => resolve([img.naturalWidth, img.naturalHeight]);
  img.onerror = () => resolve(null);
  img.src = document.querySelector('meta[property="og:image"]').content;
})"""

AXE_RUN = """axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})))"""


@pytest.mark.parametrize(("width", "height", "mobile"), VIEWPORTS, ids=["phone", "desktop"])
async def test_the_pages_fit_share_and_pass_axe(chromium, site, tmp_path, width, height, mobile):
    _needed(f"axe-core is not installed (npm install --prefix {AXE.parents[2]})", AXE.exists())
    server, quote = site
    axe = AXE.read_text()
    pages = {
        "home": "/",
        "quote": f"/q/{quote.id}",
        "source": f"/sources/{quote.source}",
        "about": "/about",
        "archive": "/archive",
    }
    async with Browser(chromium, tmp_path / "profile") as browser, httpx.AsyncClient() as client:
        # A month of the archive: the first one the archive page links.
        month = re.search(r'href="(/archive/\d{4}-\d{2})"', (await client.get(f"{server.url}/archive")).text)
        assert month is not None
        pages["month"] = month[1]
        page = await browser.new_page(width, height, mobile=mobile, scale=3 if mobile else 1)
        for name, path in pages.items():
            await page.goto(f"{server.url}{path}")
            await page.screenshot(SCREENSHOTS / f"{width}x{height}-{name}.png")
            seen = await page.evaluate(MEASURE)
            where = f"{name} ({path}) at {width}x{height}"
            assert seen["viewport"] == width, where
            assert seen["scrollWidth"] <= width, f"{where} scrolls sideways: {seen['scrollWidth']} px"
            if seen["narrowest"] is not None:
                assert seen["narrowest"] >= 120, f"{where}: a value cell is {seen['narrowest']} px wide"
            assert seen["headings"] == 1, where
            assert 0 < len(seen["title"]) <= 70, f"{where}: title {seen['title']!r}"
            assert seen["description"], where
            assert sorted(seen["og"]) == sorted(OG_PROPERTIES), where
            assert seen["og"]["og:url"] == f"{server.url}{path}", where
            assert seen["twitter"] == "summary_large_image", where
            image = seen["og"]["og:image"]
            expected_image = f"{server.url}/q/{quote.id}.png" if name in ("home", "quote") else None
            assert expected_image is None or image == expected_image, where
            assert await page.evaluate(LOAD_IMAGE, await_promise=True) == [1200, 630], f"{where}: {image}"
            fetched = await client.get(image)
            assert fetched.headers["content-type"] == "image/png", where
            assert Image.open(io.BytesIO(fetched.content)).size == (1200, 630), where

            await page.evaluate(axe)
            violations = await page.evaluate(AXE_RUN, await_promise=True)
            assert violations == [], f"{where}: axe-core: {json.dumps(violations, indent=1)}"
            assert page.errors() == [], where

        # axe-core does find what it looks for: a button with no name is a critical violation.
        await page.evaluate("document.querySelector('main').append(document.createElement('button'))")
        assert [v["id"] for v in await page.evaluate(AXE_RUN, await_promise=True)] == ["button-name"]
