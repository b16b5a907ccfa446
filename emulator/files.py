"""Files: the store (file_id, file_unique_id, file_path, content), sendDocument (an upload, an
``attach://`` part or a known file_id), getFile, and the download that ``/file/bot<token>/<path>``
serves, with the Bot API's size limits.
"""

from __future__ import annotations

import hashlib

from . import errors as E
from .params import _b, _s
from .sending import SendingMixin
from .state import Bot, Json

# Bot API reference, "sending files": 50 MB upload for bots, 20 MB download through getFile.
MAX_UPLOAD = 50 * 1024 * 1024
MAX_DOWNLOAD = 20 * 1024 * 1024


class FilesMixin(SendingMixin):
    """Documents sent and received, and their content."""

    def _store_file(self, data: bytes, file_name: str | None, mime_type: str | None) -> Json:
        n = next(self._next_file)
        digest = hashlib.sha1(data).hexdigest()
        file_id = f"BQAC{n:06d}{digest[:24]}"
        unique = f"AgAD{digest[:12]}"
        ext = ""
        if file_name and "." in file_name:
            ext = file_name.rsplit(".", 1)[1][:8]
        path = f"documents/file_{n}" + (f".{ext}" if ext else "")
        doc: Json = {"file_id": file_id, "file_unique_id": unique, "file_size": len(data)}
        if file_name:
            doc["file_name"] = file_name
        doc["mime_type"] = mime_type or _guess_mime(file_name)
        self._files[file_id] = {**doc, "data": data, "file_path": path}
        self._file_paths[path] = file_id
        return doc

    def api_senddocument(self, bot: Bot, p: Json, files: Json) -> Json:
        chat = self._resolve_chat(p)
        doc_param = p.get("document")
        upload = files.get("document")
        if isinstance(doc_param, str) and doc_param.startswith("attach://"):
            upload = files.get(doc_param[9:])
            if upload is None:
                raise E.bad_request(f"file {doc_param} not found")
        caption, entities, parse_mode = self._caption(p)
        markup = self._reply_markup(p)
        self._check_thread(chat, p)
        if upload is not None:
            name, ctype, data = upload
            if len(data) > MAX_UPLOAD:
                raise E.ApiError(413, "Request Entity Too Large")
            doc = None
        elif isinstance(doc_param, str) and doc_param:
            stored = self._files.get(doc_param)
            if stored is None:
                if doc_param.startswith(("http://", "https://")):
                    raise E.bad_request("failed to get HTTP URL content")
                raise E.bad_request("wrong file identifier/HTTP URL specified")
            doc = {k: v for k, v in stored.items() if k not in ("data", "file_path", "issued")}
        else:
            raise E.bad_request("there is no document in the request")
        self._check_access(bot, chat)
        paid = _b(p, "allow_paid_broadcast")
        self._check_flood(bot, chat, paid)
        if paid:
            self.paid_messages += 1
        if doc is None:  # an upload: name, ctype and data were read from it above
            if ctype in (None, "", "application/octet-stream"):
                ctype = None
            doc = self._store_file(data, name, ctype)
        msg = self._store_sent(bot, chat, None, [], parse_mode, markup, p)
        msg.document = doc
        if caption:
            msg.caption = caption
            msg.entities = entities or None
        # duplicates of documents count by caption
        return self._message_json(msg, bot, chat)

    def api_getfile(self, bot: Bot, p: Json, files: Json) -> Json:
        file_id = _s(p, "file_id") or ""
        stored = self._files.get(file_id)
        if stored is None:
            raise E.bad_request("invalid file_id")
        if stored["file_size"] > MAX_DOWNLOAD:
            raise E.bad_request("file is too big")
        stored["issued"] = True  # Telegram's download link exists once getFile has answered it
        return {
            "file_id": stored["file_id"],
            "file_unique_id": stored["file_unique_id"],
            "file_size": stored["file_size"],
            "file_path": stored["file_path"],
        }

    def download(self, token: str, path: str) -> bytes | None:
        """Content of a file by its file_path, as ``/file/bot<token>/<path>`` serves it.

        As on Telegram, a path is served only once getFile has given it out (so never for a file
        over the 20 MB download limit, which getFile refuses); any other path is 404 Not Found.
        """
        self.authenticate(token)
        with self._lock:
            file_id = self._file_paths.get(path)
            if file_id is None or not self._files[file_id].get("issued"):
                return None
            return self._files[file_id]["data"]

    def file_content(self, file_id: str) -> bytes:
        with self._lock:
            return self._files[file_id]["data"]


def _guess_mime(name: str | None) -> str:
    import mimetypes

    if name:
        guessed, _ = mimetypes.guess_type(name)
        if guessed:
            return guessed
    return "application/octet-stream"
