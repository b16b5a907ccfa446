"""sendPhoto: a photo uploaded, named by ``attach://``, sent again by its file_id, or given as an
HTTP URL that the server fetches (as Telegram does), with a caption of at most 1024 characters.

Bot API reference, "sendPhoto": "The photo must be at most 10 MB in size. The photo's width and
height must not exceed 10000 in total. Width and height ratio must be at most 20"; an HTTP URL
is fetched by Telegram (5 MB at most for a photo); caption 0-1024 characters after entities
parsing. The answer's ``photo`` is an array of PhotoSize, the largest last. What Telegram
answers when it cannot use the photo: "failed to get HTTP URL content", "wrong type of the web
page content", "IMAGE_PROCESS_FAILED", "PHOTO_INVALID_DIMENSIONS".

The emulator fetches a URL with ``fetch_url`` (httpx, by default); a test may set it to reach
an in-process site instead.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable

from . import errors as E
from .files import FilesMixin
from .params import _b
from .state import Bot, Json

MAX_PHOTO_UPLOAD = 10 * 1024 * 1024
MAX_PHOTO_URL = 5 * 1024 * 1024
# The sides of the sizes Telegram makes of a photo (its "s", "m", "x", "y" thumbnails), and
# the largest side it keeps.
THUMBNAIL_SIDES = (90, 320, 800, 1280)
LARGEST_SIDE = 2560


def _http_get(url: str) -> tuple[str | None, bytes]:
    """Fetch a URL: (its Content-Type, its body); an OSError or httpx error if it cannot be had."""
    import httpx

    response = httpx.get(url, timeout=10, follow_redirects=True)
    response.raise_for_status()
    return response.headers.get("content-type"), response.content


def _image_size(data: bytes) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError):
        raise E.bad_request("IMAGE_PROCESS_FAILED") from None


def _scaled(width: int, height: int, side: int) -> tuple[int, int]:
    factor = side / max(width, height)
    return max(1, round(width * factor)), max(1, round(height * factor))


class PhotosMixin(FilesMixin):
    """Photos sent by bots."""

    fetch_url: Callable[[str], tuple[str | None, bytes]] = staticmethod(_http_get)

    def _photo_sizes(self, data: bytes) -> list[Json]:
        width, height = _image_size(data)
        if width + height > 10000 or max(width, height) > 20 * min(width, height):
            raise E.bad_request("PHOTO_INVALID_DIMENSIONS")
        digest = hashlib.sha1(data).hexdigest()
        largest = max(width, height)
        sides = [s for s in THUMBNAIL_SIDES if s < largest] + [min(largest, LARGEST_SIDE)]
        sizes = []
        for number, side in enumerate(sides):
            w, h = _scaled(width, height, side) if side != largest else (width, height)
            n = next(self._next_file)
            size: Json = {
                "file_id": f"AgAC{n:06d}{digest[:24]}",
                "file_unique_id": f"AQAD{digest[:10]}{number}",
                "width": w,
                "height": h,
            }
            sizes.append(size)
        # The largest size is the photo as stored (the emulator does not resample the others).
        sizes[-1]["file_size"] = len(data)
        self._files[sizes[-1]["file_id"]] = {
            **sizes[-1],
            "data": data,
            "file_path": f"photos/file_{n}.jpg",
            "mime_type": "image/jpeg",
        }
        self._file_paths[f"photos/file_{n}.jpg"] = sizes[-1]["file_id"]
        return sizes

    def _photo_data(self, p: Json, files: Json) -> bytes | list[Json]:
        """The photo's bytes (an upload or a URL fetched), or the sizes of a photo sent before."""
        param = p.get("photo")
        upload = files.get("photo")
        if isinstance(param, str) and param.startswith("attach://"):
            upload = files.get(param[9:])
            if upload is None:
                raise E.bad_request(f"file {param} not found")
        if upload is not None:
            data = upload[2]
            if len(data) > MAX_PHOTO_UPLOAD:
                raise E.ApiError(413, "Request Entity Too Large")
            return data
        if not isinstance(param, str) or not param:
            raise E.bad_request("there is no photo in the request")
        if param.startswith(("http://", "https://")):
            try:
                media, data = self.fetch_url(param)
            except Exception:  # whatever stops the fetch, Telegram answers the same
                raise E.bad_request("failed to get HTTP URL content") from None
            if not (media or "").startswith("image/"):
                raise E.bad_request("wrong type of the web page content")
            if len(data) > MAX_PHOTO_URL:
                raise E.bad_request("failed to get HTTP URL content")
            return data
        stored = self._files.get(param)
        if stored is None or not stored["file_path"].startswith("photos/"):
            raise E.bad_request("wrong file identifier/HTTP URL specified")
        return [{k: stored[k] for k in ("file_id", "file_unique_id", "width", "height", "file_size")}]

    def api_sendphoto(self, bot: Bot, p: Json, files: Json) -> Json:
        chat = self._resolve_chat(p)
        caption, entities, parse_mode = self._caption(p)
        markup = self._reply_markup(p)
        self._check_access(bot, chat)
        photo = self._photo_data(p, files)
        paid = _b(p, "allow_paid_broadcast")
        self._check_flood(bot, chat, paid)
        if paid:
            self.paid_messages += 1
        sizes = photo if isinstance(photo, list) else self._photo_sizes(photo)
        # Counted (messages per chat, duplicates) by its caption, as a message is by its text.
        msg = self._store_sent(bot, chat, caption or "", entities, parse_mode, markup, p)
        msg.text = None
        extra: Json = {"photo": sizes}
        if caption:
            msg.caption = caption
            extra["caption"] = caption
            if entities:
                extra["caption_entities"] = entities
        msg.extra = extra
        return self._message_json(msg, bot, chat)

    def api_editmessagecaption(self, bot: Bot, p: Json, files: Json) -> Json:
        """Edit a photo's caption (and keyboard), as Telegram does: a message with text has no
        caption to edit; the same caption and keyboard is "message is not modified"."""
        chat, msg = self._editable(bot, p)
        if msg.text is not None:
            raise E.bad_request("there is no caption in the message to edit")
        given, entities, parse_mode = self._caption(p)
        caption = given or ""
        markup = self._reply_markup(p)
        if (msg.caption or "") == caption and (msg.entities or []) == entities and msg.reply_markup == markup:
            raise E.bad_request(E.MESSAGE_NOT_MODIFIED)
        self._check_flood(bot, chat, False)  # an edit counts against the flood limits like a send
        self._keep_edit(msg, caption=msg.caption, entities=msg.entities or [], reply_markup=msg.reply_markup)
        msg.caption = caption or None
        msg.entities = entities or None
        msg.parse_mode = parse_mode
        msg.reply_markup = markup
        extra = dict(msg.extra or {})
        extra.pop("caption", None)
        extra.pop("caption_entities", None)
        if caption:
            extra["caption"] = caption
            if entities:
                extra["caption_entities"] = entities
        msg.extra = extra
        return self._message_json(msg, bot, chat)
