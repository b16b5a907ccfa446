"""Telegram: the Application and its handlers, messages, Telegram's limits, the webhook route, and the
daily delivery (bot/delivery/). It stands on `quotes` alone; the service (`qotd`) wires it in."""
