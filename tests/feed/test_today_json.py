"""GET /today.json: today's quote for other pages, served like the feeds (cached, conditional,
gzip) and readable from any origin."""

from __future__ import annotations

import datetime as dt

from tests.feed.conftest import NOW, SITE


def test_today_json_is_todays_quote_with_qotd_todays_fields(client, week_store):
    response = client.get("/today.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["cache-control"] == f"public, max-age={11 * 3600}"  # until midnight in Moscow
    body = response.json()
    pick = week_store.stored_pick(NOW.date())
    assert (body["day"], body["id"], body["state"], body["stored"]) == (
        "2026-11-23",
        pick.quote.id,
        "published",
        True,
    )
    assert body["text"] == pick.quote.text
    assert body["url"] == f"{SITE}/q/{pick.quote.id}"


def test_today_json_is_conditional_and_gzipped_like_the_feeds(client):
    first = client.get("/today.json", headers={"Accept-Encoding": "gzip"})
    assert first.headers["content-encoding"] == "gzip" and first.headers["vary"] == "Accept-Encoding"
    again = client.get("/today.json", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["access-control-allow-origin"] == "*"


def test_today_json_follows_the_day_at_midnight(client, clock):
    clock.now = dt.datetime(2026, 11, 23, 20, 59, 59, tzinfo=dt.UTC)  # 23:59:59 in Moscow
    assert client.get("/today.json").json()["day"] == "2026-11-23"
    clock.now = dt.datetime(2026, 11, 23, 21, 0, tzinfo=dt.UTC)  # midnight in Moscow
    assert client.get("/today.json").json()["day"] == "2026-11-24"
