"""The bot's handlers: readers' commands, inline mode, and the admins' commands."""
