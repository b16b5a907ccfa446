"""The Bot API methods, driven by python-telegram-bot over HTTP; the client must raise what it
raises against Telegram."""

from __future__ import annotations

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputFile,
    InputTextMessageContent,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    RetryAfter,
)

from emulator import Emulator

from .conftest import BotFactory, FakeClock

# PTB 22 warns when it builds RetryAfter (its retry_after will become a timedelta)
ptb_retry_after = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def seconds(value: object) -> float:
    """RetryAfter.retry_after: an int now, a timedelta with PTB_TIMEDELTA=1 (PTB 23)."""
    total = getattr(value, "total_seconds", None)
    return total() if total else float(value)  # type: ignore[arg-type]


async def test_get_me_answers_the_bot_of_the_token(emulator: Emulator, make_bot: BotFactory):
    token = emulator.new_bot_token(username="qotd_test_bot", first_name="QOTD")
    bot = make_bot(emulator, token)
    me = await bot.get_me()
    assert me.id == int(token.split(":")[0])
    assert me.username == "qotd_test_bot"
    assert me.is_bot


async def test_any_well_formed_token_is_a_fresh_bot(emulator: Emulator, make_bot: BotFactory):
    bot = make_bot(emulator, "123456:" + "A" * 35)
    me = await bot.get_me()
    assert me.id == 123456
    assert me.username == "emu123456_bot"


@pytest.mark.parametrize("token", ["123456:short", "0123:" + "A" * 35, "abc:" + "A" * 35])
async def test_malformed_token_is_unauthorized(emulator: Emulator, make_bot: BotFactory, token: str):
    with pytest.raises(InvalidToken, match="Unauthorized: invalid token specified"):
        await make_bot(emulator, token).get_me()


async def test_revoked_token_is_unauthorized(emulator: Emulator, make_bot: BotFactory):
    token = emulator.new_bot_token()
    await make_bot(emulator, token).get_me()
    new = emulator.revoke_token(token)
    with pytest.raises(InvalidToken, match="Unauthorized"):
        await make_bot(emulator, token).get_me()
    assert (await make_bot(emulator, new).get_me()).id == int(token.split(":")[0])


async def test_unknown_method_is_not_found(emulator: Emulator, emulator_bot: Bot):
    with pytest.raises(EndPointNotFound):
        await emulator_bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": 1})
    assert emulator.counters()["requests"]["sendTelepathy"] == 1


async def test_send_message_is_stored_with_parse_mode_entities_and_buttons(
    emulator: Emulator, emulator_bot: Bot
):
    uid = emulator.create_user(first_name="Ann")
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Another", callback_data="next")]])
    sent = await emulator_bot.send_message(
        uid, "<b>Quote</b> of the <i>day</i>", parse_mode=ParseMode.HTML, reply_markup=markup
    )
    assert sent.text == "Quote of the day"
    assert sent.chat.id == uid
    assert sent.from_user.id == emulator_bot.id
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 5),
        ("italic", 13, 3),
    ]
    assert sent.reply_markup == markup
    [record] = emulator.bot_messages(uid)
    assert record["message_id"] == sent.message_id
    assert record["text"] == "Quote of the day"
    assert record["parse_mode"] == "HTML"
    assert record["entities"] == [
        {"type": "bold", "offset": 0, "length": 5},
        {"type": "italic", "offset": 13, "length": 3},
    ]
    assert record["reply_markup"] == {"inline_keyboard": [[{"text": "Another", "callback_data": "next"}]]}


async def test_message_ids_grow_per_chat(emulator: Emulator, emulator_bot: Bot):
    a, b = emulator.create_user(), emulator.create_user()
    ids = [(await emulator_bot.send_message(chat, "x")).message_id for chat in (a, a, b)]
    assert ids == [1, 2, 1]


async def test_text_length_is_counted_in_utf16_after_parsing(emulator: Emulator, emulator_bot: Bot):
    uid = emulator.create_user()
    emulator.configure_limits(enabled=False)
    ok = "🏟" * 2048  # 4096 UTF-16 code units
    assert (await emulator_bot.send_message(uid, f"<b>{ok}</b>", parse_mode="HTML")).text == ok
    with pytest.raises(BadRequest, match="Message is too long"):
        await emulator_bot.send_message(uid, ok + "a")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await emulator_bot.send_message(uid, "  \n ")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await emulator_bot.send_message(uid, "<b> </b>", parse_mode="HTML")


@pytest.mark.parametrize(
    ("text", "parse_mode", "error"),
    [
        ("<b>bold", "HTML", 'find end tag corresponding to start tag "b"'),
        ("1 < 2", "HTML", 'Unsupported start tag "" at byte offset 2'),
        ("<unknown>x</unknown>", "HTML", 'Unsupported start tag "unknown" at byte offset 0'),
        ("Ends.", "MarkdownV2", "Character '.' is reserved"),
        ("*bold", "MarkdownV2", "Can't find end of Bold entity at byte offset 0"),
    ],
)
async def test_malformed_entities_cannot_be_parsed(
    emulator: Emulator, emulator_bot: Bot, text: str, parse_mode: str, error: str
):
    uid = emulator.create_user()
    with pytest.raises(BadRequest, match="Can't parse entities: ") as info:
        await emulator_bot.send_message(uid, text, parse_mode=parse_mode)
    # PTB capitalizes the description after "Bad Request: " (str.capitalize lowers the rest)
    assert error.lower() in info.value.message.lower()
    assert emulator.bot_messages(uid) == []


async def test_unsupported_parse_mode(emulator: Emulator, emulator_bot: Bot):
    uid = emulator.create_user()
    with pytest.raises(BadRequest, match="Unsupported parse_mode"):
        await emulator_bot.send_message(uid, "x", parse_mode="BBCode")


async def test_explicit_entities_are_kept(emulator: Emulator, emulator_bot: Bot):
    from telegram import MessageEntity

    uid = emulator.create_user()
    sent = await emulator_bot.send_message(uid, "hello world", entities=[MessageEntity("underline", 6, 5)])
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("underline", 6, 5)]


async def test_callback_data_is_at_most_64_bytes(emulator: Emulator, emulator_bot: Bot):
    uid = emulator.create_user()
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="é" * 33)]])
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await emulator_bot.send_message(uid, "x", reply_markup=too_long)
    fits = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="é" * 32)]])
    await emulator_bot.send_message(uid, "x", reply_markup=fits)


async def test_unknown_chat(emulator: Emulator, emulator_bot: Bot):
    with pytest.raises(BadRequest, match="Chat not found"):
        await emulator_bot.send_message(424242, "x")
    with pytest.raises(BadRequest, match="Chat not found"):
        await emulator_bot.get_chat("@nobody_here")


async def test_blocked_user_is_forbidden(emulator: Emulator, emulator_bot: Bot):
    uid = emulator.create_user()
    await emulator_bot.send_message(uid, "welcome")
    emulator.block_bot(uid)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await emulator_bot.send_message(uid, "quote")
    # the bot learns it from a my_chat_member update, as on Telegram
    [update] = await emulator_bot.get_updates()
    assert update.my_chat_member.new_chat_member.status == "kicked"
    emulator.send_command(uid, "start")  # pressing Start again unblocks
    await emulator_bot.send_message(uid, "welcome back")


async def test_deactivated_user_and_users_who_never_started(emulator: Emulator, emulator_bot: Bot):
    gone = emulator.create_user()
    emulator.deactivate_user(gone)
    with pytest.raises(Forbidden, match="user is deactivated"):
        await emulator_bot.send_message(gone, "x")
    stranger = emulator.create_user(started=False)
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await emulator_bot.send_message(stranger, "x")


async def test_upgraded_group_answers_migrate_to_chat_id(emulator: Emulator, emulator_bot: Bot):
    uid = emulator.create_user()
    group = emulator.create_group("Quotes", members=[uid])
    await emulator_bot.send_message(group, "before")
    supergroup = emulator.upgrade_group(group)
    with pytest.raises(ChatMigrated) as info:
        await emulator_bot.send_message(group, "after")
    assert info.value.new_chat_id == supergroup
    assert str(supergroup).startswith("-100")
    await emulator_bot.send_message(info.value.new_chat_id, "after")
    assert emulator.texts(supergroup) == ["after"]


async def test_channel_needs_the_bot_as_admin(emulator: Emulator, emulator_bot: Bot):
    channel = emulator.create_channel("Daily quotes", username="dailyquotes")
    assert str(channel).startswith("-100")
    sent = await emulator_bot.send_message("@dailyquotes", "q1")
    assert sent.sender_chat.id == channel
    assert sent.from_user is None
    emulator.make_admin(channel, admin=False)
    with pytest.raises(BadRequest, match="Need administrator rights in the channel chat"):
        await emulator_bot.send_message(channel, "q2")
    emulator.remove_bot(channel)
    with pytest.raises(Forbidden, match="bot is not a member of the channel chat"):
        await emulator_bot.send_message(channel, "q3")
    emulator.make_admin(channel)
    member = await emulator_bot.get_chat_member(channel, emulator_bot.id)
    assert member.status == "administrator"


async def test_groups_the_bot_left_or_was_kicked_from(emulator: Emulator, emulator_bot: Bot):
    group = emulator.create_group()
    supergroup = emulator.create_supergroup()
    assert await emulator_bot.leave_chat(group)
    with pytest.raises(Forbidden, match="bot is not a member of the group chat"):
        await emulator_bot.send_message(group, "x")
    emulator.remove_bot(supergroup, kicked=True)
    with pytest.raises(Forbidden, match="bot was kicked from the supergroup chat"):
        await emulator_bot.send_message(supergroup, "x")
    with pytest.raises(BadRequest, match="private chats"):
        await emulator_bot.leave_chat(emulator.create_user())


@ptb_retry_after
async def test_flood_limits_answer_retry_after(clocked: Emulator, clock: FakeClock, make_bot: BotFactory):
    bot = make_bot(clocked)
    uid = clocked.create_user()
    for n in range(3):
        await bot.send_message(uid, f"burst {n}")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(uid, "one too many")
    assert seconds(info.value.retry_after) == 1
    assert clocked.counters()["too_many_requests"] == 1
    clock.advance(1)
    await bot.send_message(uid, "after waiting")
    assert clocked.texts(uid) == ["burst 0", "burst 1", "burst 2", "after waiting"]


@ptb_retry_after
async def test_thirty_per_second_and_paid_broadcast(
    clocked: Emulator, clock: FakeClock, make_bot: BotFactory
):
    bot = make_bot(clocked)
    first, last = clocked.create_users(31)
    for uid in range(first, last):
        await bot.send_message(uid, "q")
    with pytest.raises(RetryAfter):
        await bot.send_message(last, "q")
    await bot.send_message(last, "q", allow_paid_broadcast=True)
    assert clocked.counters()["paid_messages"] == 1


@ptb_retry_after
async def test_twenty_per_minute_in_a_group(clocked: Emulator, clock: FakeClock, make_bot: BotFactory):
    bot = make_bot(clocked)
    clocked.configure_limits(chat_burst=100)  # isolate the group limit from the 1/s chat limit
    group = clocked.create_group()
    for _ in range(20):
        await bot.send_message(group, "q")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(group, "q")
    assert seconds(info.value.retry_after) == 3  # 20 per 60 s: one more every 3 s
    clock.advance(3)
    await bot.send_message(group, "q")


@ptb_retry_after
async def test_edits_count_against_the_flood_limits_like_sends(
    clocked: Emulator, clock: FakeClock, make_bot: BotFactory
):
    bot = make_bot(clocked)
    clocked.configure_limits(chat_burst=100)
    group = clocked.create_group()
    sent = await bot.send_message(group, "q0")
    for n in range(1, 20):
        await bot.edit_message_text(f"q{n}", group, sent.message_id)
    with pytest.raises(RetryAfter) as info:
        await bot.edit_message_text("q20", group, sent.message_id)
    assert seconds(info.value.retry_after) == 3
    # An edit Telegram refuses as not modified changes nothing, and costs nothing.
    clock.advance(3)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("q19", group, sent.message_id)
    assert (await bot.edit_message_text("q20", group, sent.message_id)).text == "q20"


async def test_edit_and_delete(emulator: Emulator, emulator_bot: Bot):
    uid = emulator.create_user()
    sent = await emulator_bot.send_message(uid, "draft")
    edited = await emulator_bot.edit_message_text("<b>final</b>", uid, sent.message_id,
                                                  parse_mode="HTML")  # fmt: skip
    assert edited.text == "final"
    assert edited.edit_date is not None
    with pytest.raises(BadRequest, match="Message is not modified"):
        await emulator_bot.edit_message_text("<b>final</b>", uid, sent.message_id,
                                             parse_mode="HTML")  # fmt: skip
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await emulator_bot.edit_message_text("x", uid, 999)
    assert await emulator_bot.delete_message(uid, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await emulator_bot.delete_message(uid, sent.message_id)
    [record] = emulator.bot_messages(uid)
    assert record["deleted"]
    assert record["text"] == "final"
    assert record["edits"][0]["text"] == "draft"
    assert emulator.texts(uid) == []


async def test_callback_query_round_trip(emulator: Emulator, emulator_bot: Bot):
    uid = emulator.create_user()
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more:1")]])
    sent = await emulator_bot.send_message(uid, "q", reply_markup=markup)
    qid = emulator.press_button(uid, sent.message_id, data="more:1")
    [update] = await emulator_bot.get_updates()
    assert update.callback_query.id == qid
    assert update.callback_query.data == "more:1"
    assert update.callback_query.message.message_id == sent.message_id
    assert await emulator_bot.answer_callback_query(qid, text="Here you go")
    with pytest.raises(BadRequest, match="Query is too old"):
        await emulator_bot.answer_callback_query(qid)
    assert emulator.callback_answers[0]["text"] == "Here you go"


async def test_inline_queries(emulator: Emulator, emulator_bot: Bot):
    uid = emulator.create_user()
    qid = emulator.inline_query(uid, "wisdom")
    [update] = await emulator_bot.get_updates()
    assert update.inline_query.query == "wisdom"

    def results(n: int) -> list[InlineQueryResultArticle]:
        return [InlineQueryResultArticle(str(i), f"r{i}", InputTextMessageContent("t")) for i in range(n)]

    with pytest.raises(BadRequest, match="Results_too_much"):
        await emulator_bot.answer_inline_query(qid, results(51))
    assert await emulator_bot.answer_inline_query(qid, results(50))
    assert len(emulator.inline_answers[0]["results"]) == 50


async def test_commands(emulator: Emulator, emulator_bot: Bot):
    commands = [BotCommand("today", "Quote of the day"), BotCommand("subscribe", "Daily")]
    assert await emulator_bot.set_my_commands(commands)
    assert await emulator_bot.get_my_commands() == tuple(commands)
    scope = BotCommandScopeChat(42)
    await emulator_bot.set_my_commands(commands[:1], scope=scope, language_code="de")
    assert await emulator_bot.get_my_commands(scope=scope, language_code="de") == tuple(commands[:1])
    for bad in ("Today", "to-day", "x" * 33, ""):
        with pytest.raises(BadRequest, match="Bot_command_invalid"):
            await emulator_bot.set_my_commands([BotCommand(bad, "d")])
    with pytest.raises(BadRequest, match="Bot_commands_too_much"):
        await emulator_bot.set_my_commands([BotCommand(f"c{i}", "d") for i in range(101)])
    assert await emulator_bot.delete_my_commands()
    assert await emulator_bot.get_my_commands() == ()


async def test_get_chat_and_members(emulator: Emulator, emulator_bot: Bot):
    owner, member = emulator.create_user("Olga"), emulator.create_user("Max")
    group = emulator.create_supergroup("Readers", members=[owner, member], username="readers")
    chat = await emulator_bot.get_chat(group)
    assert (chat.id, chat.type, chat.title, chat.username) == (
        group, "supergroup", "Readers", "readers"
    )  # fmt: skip
    assert (await emulator_bot.get_chat_member(group, owner)).status == "creator"
    assert (await emulator_bot.get_chat_member(group, member)).status == "member"
    assert (await emulator_bot.get_chat_member(group, emulator_bot.id)).status == "member"
    private = await emulator_bot.get_chat(owner)
    assert (private.type, private.first_name) == ("private", "Olga")
    with pytest.raises(BadRequest, match="User not found"):
        await emulator_bot.get_chat_member(group, 99)


async def test_documents_both_ways(emulator: Emulator, emulator_bot: Bot, tmp_path):
    uid = emulator.create_user()
    sent = await emulator_bot.send_document(
        uid, InputFile(b"id,text\n1,hi\n", filename="export.csv"), caption="<i>export</i>",
        parse_mode="HTML",
    )  # fmt: skip
    assert sent.document.file_name == "export.csv"
    assert sent.document.mime_type == "text/csv"
    assert sent.caption == "export"
    f = await emulator_bot.get_file(sent.document.file_id)
    assert bytes(await f.download_as_bytearray()) == b"id,text\n1,hi\n"
    # the same file again by file_id
    again = await emulator_bot.send_document(uid, sent.document.file_id)
    assert again.document.file_unique_id == sent.document.file_unique_id

    emulator.send_document(uid, "import.toml", b'[quote]\ntext = "x"\n', caption="/import")
    [update] = await emulator_bot.get_updates()
    doc = update.message.document
    assert (doc.file_name, doc.file_size) == ("import.toml", 19)
    target = tmp_path / "import.toml"
    await (await doc.get_file()).download_to_drive(target)
    assert target.read_bytes() == b'[quote]\ntext = "x"\n'
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await emulator_bot.get_file("nope")


async def test_bots_do_not_share_updates(emulator: Emulator, make_bot: BotFactory):
    one, two = make_bot(emulator), make_bot(emulator)
    uid = emulator.create_user()
    emulator.send_text(uid, "hi one", bot=one.token)
    emulator.send_text(uid, "hi two", bot=two.token)
    assert [u.message.text for u in await one.get_updates()] == ["hi one"]
    assert [u.message.text for u in await two.get_updates()] == ["hi two"]
