"""Forum topics as Telegram has them: threads on messages, and Telegram's errors for closed,
deleted and unknown topics and for topic methods outside a forum."""

from __future__ import annotations

import pytest

from emulator import ApiError, Emulator


@pytest.fixture
def forum():
    emu = Emulator()
    token = emu.new_bot_token(username="forum_bot")
    user = emu.create_user()
    chat = emu.create_supergroup("Forum", members=[user], creator=user, is_forum=True)
    return emu, token, user, chat


def _error(emu: Emulator, token: str, method: str, **params) -> str:
    with pytest.raises(ApiError) as caught:
        emu.call(token, method, params)
    return f"{caught.value.code} {caught.value.description}"


def test_messages_in_a_topic_carry_its_thread(forum):
    emu, token, user, chat = forum
    topic = emu.create_topic(chat, "News")
    received = emu.send_text(user, "/subscribe", chat_id=chat, thread_id=topic)
    assert (received["message_thread_id"], received["is_topic_message"]) == (topic, True)
    assert received["chat"]["is_forum"] is True
    sent = emu.call(token, "sendMessage", {"chat_id": chat, "text": "hi", "message_thread_id": topic})
    assert sent["message_thread_id"] == topic
    assert emu.bot_messages(chat)[-1]["message_thread_id"] == topic


def test_closed_deleted_and_unknown_topics_are_refused_as_telegram_does(forum):
    emu, token, _user, chat = forum
    closed, deleted = emu.create_topic(chat, "Closed"), emu.create_topic(chat, "Deleted")
    emu.close_topic(chat, closed)
    emu.delete_topic(chat, deleted)
    send = {"chat_id": chat, "text": "hi"}
    assert (
        _error(emu, token, "sendMessage", **send, message_thread_id=closed) == "400 Bad Request: TOPIC_CLOSED"
    )
    for thread in (deleted, 999):
        assert _error(emu, token, "sendMessage", **send, message_thread_id=thread) == (
            "400 Bad Request: message thread not found"
        )
    assert emu.counters()["messages_sent"] == 0


def test_topic_methods_need_a_forum_and_an_administrator(forum):
    emu, token, user, chat = forum
    plain = emu.create_supergroup("Plain", members=[user])
    assert (
        _error(emu, token, "createForumTopic", chat_id=plain, name="x")
        == "400 Bad Request: the chat is not a forum"
    )
    assert _error(emu, token, "createForumTopic", chat_id=chat, name="x") == (
        "400 Bad Request: not enough rights to create a topic"
    )
    emu.make_admin(chat)
    created = emu.call(token, "createForumTopic", {"chat_id": chat, "name": "Quotes"})
    thread = created["message_thread_id"]
    assert emu.call(token, "closeForumTopic", {"chat_id": chat, "message_thread_id": thread}) is True
    assert _error(emu, token, "closeForumTopic", chat_id=chat, message_thread_id=thread) == (
        "400 Bad Request: TOPIC_NOT_MODIFIED"
    )
    assert emu.call(token, "reopenForumTopic", {"chat_id": chat, "message_thread_id": thread}) is True
    assert emu.call(token, "deleteForumTopic", {"chat_id": chat, "message_thread_id": thread}) is True
    assert _error(emu, token, "deleteForumTopic", chat_id=chat, message_thread_id=thread) == (
        "400 Bad Request: message thread not found"
    )
