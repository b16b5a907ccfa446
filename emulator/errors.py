"""Errors the emulator answers with, worded as Telegram's Bot API server words them.

Where the wording comes from (tdlib/telegram-bot-api, the open-source Bot API server, and tdlib
itself, which that server links):

* ``telegram-bot-api/ClientManager.cpp`` ``ClientManager::send``: a token that is not of the form
  ``<id>:<secret>`` is refused with 401 ``Unauthorized: invalid token specified``.  A well-formed
  token that Telegram does not accept (revoked) is 401 ``Unauthorized`` (what api.telegram.org
  answers; the local server learns it from the auth failure).
* api.telegram.org answers an unknown method with 404 ``Not Found``.
* ``telegram-bot-api/Client.cpp`` ``Client::fail_query_with_error``: the prefix (``Bad Request``,
  ``Forbidden``, ``Unauthorized``, ``Internal Server Error``) is put before the message, whose first
  letter is lowered unless it is an UPPER_CASE server error name (``BUTTON_DATA_INVALID``); 429 is
  ``Too Many Requests: retry after N`` with ``parameters.retry_after``; ``USER_IS_BLOCKED`` becomes
  403 ``bot was blocked by the user``; ``INPUT_USER_DEACTIVATED`` becomes 403
  ``Forbidden: user is deactivated``; ``QUERY_ID_INVALID`` becomes ``query is too old and response
  timeout expired or query ID is invalid``; ``MESSAGE_NOT_MODIFIED`` becomes ``message is not
  modified: specified new message content and reply markup are exactly the same as a current
  content and reply markup of the message``; ``MESSAGE_DELETE_FORBIDDEN`` becomes ``message can't
  be deleted``.
* ``Client.cpp`` (chat access checks): ``chat not found``, ``bot was kicked from the group chat``,
  ``bot is not a member of the channel chat``, ``need administrator rights in the channel chat``,
  ``bot can't initiate conversation with a user``, ``group chat was upgraded to a supergroup chat``
  with ``parameters.migrate_to_chat_id``.
* ``Client.cpp`` getUpdates: 409 ``Conflict: terminated by other getUpdates request; make sure
  that only one bot instance is running`` and ``Conflict: can't use getUpdates method while webhook
  is active; use deleteWebhook to delete the webhook first``.
* Entity parsing errors are tdlib's (``td/telegram/MessageEntity.cpp``), wrapped by Client.cpp as
  ``Can't parse entities: ...`` and so sent as ``Bad Request: can't parse entities: ...``.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A Bot API error answer: HTTP status = ``error_code``, with Telegram's description."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(message: str) -> ApiError:
    return ApiError(400, f"Bad Request: {message}")


def forbidden(message: str) -> ApiError:
    return ApiError(403, f"Forbidden: {message}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


def migrated(to_chat_id: int) -> ApiError:
    return ApiError(
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        {"migrate_to_chat_id": to_chat_id},
    )


INVALID_TOKEN = ApiError(401, "Unauthorized: invalid token specified")
UNAUTHORIZED = ApiError(401, "Unauthorized")
NOT_FOUND = ApiError(404, "Not Found")
INTERNAL = ApiError(500, "Internal Server Error")

CONFLICT_OTHER_POLLER = ApiError(
    409,
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
)
CONFLICT_WEBHOOK_ACTIVE = ApiError(
    409,
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first",
)

CHAT_NOT_FOUND = "chat not found"
TEXT_EMPTY = "message text is empty"
TEXT_TOO_LONG = "message is too long"
CAPTION_TOO_LONG = "message caption is too long"
BUTTON_DATA_INVALID = "BUTTON_DATA_INVALID"
TOPIC_CLOSED = "TOPIC_CLOSED"  # a closed forum topic (emulator/forums.py)
THREAD_NOT_FOUND = "message thread not found"  # a deleted or unknown forum topic
RESULTS_TOO_MUCH = "RESULTS_TOO_MUCH"
BOT_COMMAND_INVALID = "BOT_COMMAND_INVALID"
BOT_COMMAND_DESCRIPTION_INVALID = "BOT_COMMAND_DESCRIPTION_INVALID"
BOT_COMMANDS_TOO_MUCH = "BOT_COMMANDS_TOO_MUCH"
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
MESSAGE_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
