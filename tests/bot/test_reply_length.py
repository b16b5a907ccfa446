"""Every reply stays within Telegram's 4,096 characters: what the user typed is cut when repeated."""

from bot.limits import TELEGRAM
from bot.messages import ECHO_LENGTH, fit_message, telegram_length


async def test_a_long_search_that_matches_nothing_is_echoed_cut(bot):
    words = "zq" * 2044  # 4,088 characters that match nothing
    answer = (await bot.say(bot.reader, f"/search {words}"))[0]
    echoed = words[: ECHO_LENGTH - 1] + "…"
    assert answer["text"] == (
        f"No quote matches “{echoed}”. Try fewer words, a speaker's name or a topic such as NATO."
    )


async def test_a_long_quote_id_is_echoed_cut(bot):
    answer = (await bot.say(bot.reader, "/quote " + "x" * 4000))[0]
    assert answer["text"].startswith("There is no quote " + "x" * (ECHO_LENGTH - 1) + "…. Ids look like")
    assert len(answer["text"]) < 200


def test_a_reply_built_too_long_becomes_its_text_cut_to_the_limit():
    html = "<b>Heading</b>\n" + "&amp;" * 5000 + "𝄞"  # & is one character once parsed
    fitted = fit_message(html)
    assert telegram_length(fitted) == TELEGRAM.message_length
    assert fitted == "Heading\n" + "&amp;" * (TELEGRAM.message_length - len("Heading\n") - 1) + "…"
    short = "<b>ok</b>"
    assert fit_message(short) is short
