"""The error handler: logged with the update that caused it, an apology to the user, no crash."""

from __future__ import annotations

import logging

from bot.app import APOLOGY, build_application, set_commands
from quotes.store import Store
from tests.bot.conftest import FAST, Harness
from tests.conftest import NOW


async def test_a_failing_command_is_logged_with_its_update_and_apologised_for(
    emulator, tmp_path, settings_for, caplog
):
    emulator.configure_limits(enabled=False)
    broken = Store.connect(f"sqlite:///{tmp_path / 'broken.sqlite3'}")
    broken.upgrade()
    with broken.write() as conn:  # the bot's state is there, the quotes are not: /today fails
        for table in ("deliveries", "daily_picks", "pins", "quotes"):
            conn.exec_driver_sql(f"DROP TABLE {table}")
    token = emulator.new_bot_token(username="qotd_test_bot")
    user = emulator.create_user(first_name="Rob")
    settings = settings_for(emulator, token, [], str(broken.engine.url))
    application = build_application(settings, broken, updater=False, limits=FAST, clock=lambda: NOW)
    try:
        async with application:
            await set_commands(application)
            bot = Harness(emulator, application, broken, admin=0, reader=user)
            with caplog.at_level(logging.ERROR, logger="bot.app"):
                assert await bot.text(user, "/today") == APOLOGY
            (record,) = [r for r in caplog.records if "error while handling update" in r.getMessage()]
            assert "'/today'" in record.getMessage() and record.exc_info is not None
            assert "no such table" in str(record.exc_info[1])
            # the application carries on
            assert "/subscribe" in await bot.text(user, "/help")
    finally:
        broken.close()
