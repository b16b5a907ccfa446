"""The HTTP surface itself: bodies as any client sends them, the control endpoints, the ASGI
adapter and the command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest

from emulator import Emulator, EmulatorClient, asgi_app, running_emulator
from emulator.control import ControlError


@pytest.fixture
async def http(emulator: Emulator):
    async with httpx.AsyncClient(base_url=emulator.url, trust_env=False) as client:
        yield client


async def test_json_form_query_and_multipart_bodies(emulator: Emulator, http: httpx.AsyncClient):
    token = emulator.new_bot_token()
    uid = emulator.create_user()
    emulator.configure_limits(enabled=False)
    url = f"/bot{token}/sendMessage"
    r1 = await http.post(url, json={"chat_id": uid, "text": "json", "disable_notification": True})
    r2 = await http.post(url, data={"chat_id": str(uid), "text": "form"})
    r3 = await http.get(url, params={"chat_id": uid, "text": "query"})
    r4 = await http.post(
        f"/bot{token}/sendDocument",
        data={"chat_id": str(uid), "caption": "multipart"},
        files={"document": ("q.txt", b"quote", "text/plain")},
    )
    for r in (r1, r2, r3, r4):
        assert r.status_code == 200, r.text
        assert r.json()["ok"] is True
    assert emulator.texts(uid) == ["json", "form", "query", "multipart"]
    assert r4.json()["result"]["document"]["file_name"] == "q.txt"


async def test_method_names_are_case_insensitive(emulator: Emulator, http: httpx.AsyncClient):
    token = emulator.new_bot_token()
    r = await http.post(f"/bot{token}/GETME")
    assert r.json()["result"]["id"] == int(token.split(":")[0])
    assert emulator.counters()["requests"] == {"getMe": 1}


async def test_error_answers_are_telegrams(emulator: Emulator, http: httpx.AsyncClient):
    token = emulator.new_bot_token()
    r = await http.post(f"/bot{token}/nosuchMethod")
    assert (r.status_code, r.json()) == (
        404, {"ok": False, "error_code": 404, "description": "Not Found"}
    )  # fmt: skip
    r = await http.post("/botnot-a-token/getMe")
    assert (r.status_code, r.json()["description"]) == (
        401, "Unauthorized: invalid token specified"
    )  # fmt: skip
    r = await http.post(f"/bot{token}/sendMessage", json={"chat_id": 1, "text": "x"})
    assert r.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: chat not found",
    }
    r = await http.post(f"/bot{token}/sendMessage", json={"text": "x"})
    assert r.json()["description"] == "Bad Request: chat_id is empty"
    uid = emulator.create_user()
    emulator.configure_limits(chat_burst=1)
    await http.post(f"/bot{token}/sendMessage", json={"chat_id": uid, "text": "x"})
    r = await http.post(f"/bot{token}/sendMessage", json={"chat_id": uid, "text": "x"})
    assert (r.status_code, r.json()) == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        },
    )
    group = emulator.create_group()
    new = emulator.upgrade_group(group)
    r = await http.post(f"/bot{token}/sendMessage", json={"chat_id": group, "text": "x"})
    assert r.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: group chat was upgraded to a supergroup chat",
        "parameters": {"migrate_to_chat_id": new},
    }
    r = await http.post(f"/bot{token}/setWebhook", data={"url": "http://127.0.0.1:9/x"})
    assert r.json() == {"ok": True, "result": True, "description": "Webhook was set"}


async def test_control_endpoints(emulator: Emulator, http: httpx.AsyncClient):
    token = emulator.new_bot_token()

    async def control(name: str, **kwargs: object) -> object:
        r = await http.post(f"/_emulator/{name}", json=kwargs)
        assert r.status_code == 200, r.text
        return r.json()["result"]

    uid = await control("create_user", first_name="Bo", username="bo")
    channel = await control("create_channel", title="Quotes")
    await http.post(f"/bot{token}/sendMessage", json={"chat_id": uid, "text": "<b>hi</b>",
                                                      "parse_mode": "HTML"})  # fmt: skip
    [msg] = await control("messages", chat_id=uid)
    assert (msg["text"], msg["parse_mode"], msg["entities"][0]["type"]) == ("hi", "HTML", "bold")
    r = await http.get("/_emulator/bot_messages", params={"chat_id": uid, "include_deleted": "false"})
    assert len(r.json()["result"]) == 1
    assert (await control("counters", per_chat=False))["messages_sent"] == 1
    await control("configure_limits", enabled=False)
    await control("configure_faults", seed=1, error_rate=0.5)
    await control("inject_fault", kind="lost", count=1, method="sendMessage")
    await control("send_command", user_id=uid, command="start")
    assert len(await control("updates")) == 1
    assert str(channel).startswith("-100")
    r = await http.post("/_emulator/no_such_thing", json={})
    assert r.status_code == 404
    r = await http.post("/_emulator/create_user", json={"favourite_colour": "blue"})
    assert r.status_code == 400
    await control("reset")
    assert (await control("counters"))["chats"] == 0


def test_client_from_another_process_point_of_view():
    with running_emulator() as emu, EmulatorClient(emu.url) as client:
        assert client.base_url == emu.base_url
        token = client.new_bot_token()
        uid = client.create_user(first_name="Cy")
        httpx.post(f"{client.base_url}{token}/sendMessage", json={"chat_id": uid, "text": "a"},
                   trust_env=False)  # fmt: skip
        assert client.wait_messages(chat_id=uid, count=1, timeout=5)
        assert client.texts(chat_id=uid) == ["a"]
        with pytest.raises(ControlError, match="no chat"):
            client.messages(chat_id=12345)


async def test_asgi_adapter_serves_the_same_routes():
    emu = Emulator()
    token = emu.new_bot_token()
    transport = httpx.ASGITransport(app=asgi_app(emu))
    async with httpx.AsyncClient(transport=transport, base_url="http://emu") as client:
        r = await client.post(f"/bot{token}/getMe")
        assert r.json()["result"]["is_bot"] is True
        r = await client.post("/_emulator/create_user", json={"first_name": "Di"})
        assert r.json()["ok"]


def test_command_line_serves_until_sigterm():
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", "--no-limits"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        printed = [proc.stdout.readline().strip() for _ in range(7)]
        # the lines to paste (`export NAME=value`), then the other clients' (`name=value`)
        lines = dict(
            line.removeprefix("export ").split("=", 1) for line in printed if not line.startswith("#")
        )
        token = lines["BOT_TOKEN"]
        assert lines["TELEGRAM_API_URL"] + "/bot" == lines["base_url"]
        r = httpx.post(f"{lines['base_url']}{token}/getMe", trust_env=False)
        assert r.json()["result"]["id"] == int(token.split(":")[0])
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert "stopped" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
