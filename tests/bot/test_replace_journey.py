"""An admin replaces today's quote from Telegram: /hide with a reason, /pin to today; /today and
inline mode follow at once, and the replacement is recorded."""

from __future__ import annotations

from bot.messages import heading
from tests.conftest import NOW


async def test_hiding_todays_quote_in_telegram_replaces_it_for_readers(bot, store, today):
    first = (await bot.say(bot.reader, "/today"))[0]["text"]
    hidden = store.stored_pick(today).quote
    assert first.startswith(heading(today)) and hidden.text in first

    answer = await bot.text(bot.admin, f"/hide {hidden.id} the speaker is wrong")
    replacement = store.stored_pick(today).quote
    assert answer == (
        f"{hidden.id} is now hidden: it is never picked (nothing was deleted). Today's quote is now "
        f"{replacement.id} (recorded as a correction; messages already sent are edited)."
    )
    now_shown = (await bot.say(bot.reader, "/today"))[0]["text"]
    assert replacement.text in now_shown and hidden.text not in now_shown
    assert [r["id"] for r in (await bot.inline(bot.reader, ""))["results"]] == [replacement.id]
    (correction,) = store.corrections(replacement.id)
    assert (correction.replaced_id, correction.why, correction.actor, correction.at) == (
        hidden.id,
        "the speaker is wrong",
        f"tg:{bot.admin}",
        NOW,
    )

    other = next(q for q in list(store.quotes()) if q.id not in (hidden.id, replacement.id))
    answer = await bot.text(bot.admin, f"/pin {today.isoformat()} {other.id}")
    assert answer == (
        f"{other.id} is pinned to {today.isoformat()}. It replaces today's quote "
        "(recorded as a correction; messages already sent are edited)."
    )
    assert other.text in (await bot.say(bot.reader, "/today"))[0]["text"]
