"""The service: settings, the scheduler and its leadership, one process serving it all, the `qotd`
command. It wires `quotes`, `feed` and `bot` together; nothing imports it."""
