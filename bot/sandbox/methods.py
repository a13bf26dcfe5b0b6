"""The Bot API double's message methods: sending, editing, deleting, callback answers, commands.

``MessageMethods`` is a mixin of :class:`~bot.sandbox.botapi.BotApiDouble`, which provides
what these methods rely on: ``bot_user``, ``files``, ``callback_answers``, ``commands``,
``_chat()``, ``_check_chat_limits()``, ``store_file()``, ``photo_sizes()``, ``document_dict()``,
``monotonic()`` and ``notify()``.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from .html import HtmlError, Rendered, render, utf16_len
from .model import Chat, KeyboardButton, Message, Params, StoredFile, Upload, bad

__all__ = ["NOT_MODIFIED", "MessageMethods"]

NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message")
MAX_INLINE_BUTTONS = 100
_INLINE_ACTIONS = ("callback_data", "url", "web_app", "login_url", "switch_inline_query",
                   "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
                   "copy_text", "callback_game", "pay")
_CHAT_ACTIONS = {"typing", "upload_photo", "record_video", "upload_video", "record_voice",
                 "upload_voice", "upload_document", "choose_sticker", "find_location",
                 "record_video_note", "upload_video_note"}


class MessageMethods:
    """Bot API methods (``api_<methodName>``) for messages, and the rule checks they share."""

    # ---- rule checks shared by methods --------------------------------------------------
    @staticmethod
    def _text(params: Params, key: str = "text", limit: int = 4096) -> Rendered | None:
        caption = key == "caption"
        raw = params.text(key)
        if not raw:
            if caption:
                return None
            raise bad("message text is empty")
        entities = params.get("caption_entities" if caption else "entities")
        try:
            rendered = render(raw, params.text("parse_mode"), entities)
        except HtmlError as err:
            raise bad(f"can't parse entities: {err}") from None
        if not caption and not rendered.text.strip():
            raise bad("message text is empty")
        if utf16_len(rendered.text) > limit:
            raise bad("message caption is too long" if caption else "message is too long")
        return rendered

    @staticmethod
    def _markup(params: Params, inline_only: bool = False) -> dict | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad("can't parse reply keyboard markup JSON object")
        kind = next((k for k in ("inline_keyboard", "keyboard") if k in markup), None)
        if inline_only and kind != "inline_keyboard":
            raise bad("inline keyboard expected")
        if kind is None:
            if "remove_keyboard" in markup or "force_reply" in markup:
                return markup
            raise bad("can't parse reply keyboard markup JSON object")
        rows = markup[kind]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad(f'field "{kind}" must be an Array of Arrays')
        # At most 100 inline buttons; Telegram's answer above that is "reply markup is too long"
        # (reported in eternnoir/pyTelegramBotAPI#511, LibertyPaul/LostFilmUpdatesBot#69; the
        # 100-button limit in tginfo/Telegram-Limits#228).
        if kind == "inline_keyboard" and sum(len(row) for row in rows) > MAX_INLINE_BUTTONS:
            raise bad("reply markup is too long")
        for button in (b for row in rows for b in row):
            if kind == "keyboard" and isinstance(button, str):
                button = {"text": button}
            if not isinstance(button, dict) or not button.get("text"):
                raise bad("can't parse keyboard button: Text must be non-empty")
            if kind == "keyboard":
                continue
            actions = [key for key in _INLINE_ACTIONS if key in button]
            if not actions:
                raise bad("text buttons are unallowed in the inline keyboard")
            if len(actions) > 1:
                raise bad("can't parse inline keyboard button: exactly one of the optional "
                          f"fields must be used, got {actions}")
            data = button.get("callback_data", "x")
            if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                raise bad("BUTTON_DATA_INVALID")
            if "url" in button and not str(button["url"]).strip():
                raise bad("BUTTON_URL_INVALID")
        return markup

    def _file(self, params: Params, key: str) -> tuple[str, StoredFile]:
        value = params.get(key)
        if isinstance(value, Upload):
            stored = self.store_file(key, value.content, value.filename, value.mime_type)
            return stored.file_id, stored
        if not value:
            raise bad(f"there is no {key} in the request")
        value = str(value)
        if value in self.files:
            return value, self.files[value]
        if value.startswith(("http://", "https://")):
            name = PurePosixPath(value.split("?")[0]).name or None
            return value, self.store_file(key, None, name, url=value)
        raise bad("wrong file identifier/HTTP URL specified")

    def _send(self, chat: Chat, params: Params, **fields: Any) -> dict:
        markup = self._markup(params)
        reply_to = None
        reply = params.get("reply_parameters") or {}
        reply_id = reply.get("message_id") or params.integer("reply_to_message_id")
        if reply_id:
            reply_to = chat.message(int(reply_id))
            if (reply_to is None or reply_to.deleted) and not (
                    reply.get("allow_sending_without_reply")
                    or params.flag("allow_sending_without_reply")):
                raise bad("message to be replied not found")
        if fields.get("entities"):
            fields["entities"] = [self._mention(e) for e in fields["entities"]]
        self._check_chat_limits(chat)
        message = chat._new_message(self.bot_user, self.now(), reply_markup=markup, reply_to=reply_to,
                                    **fields)
        if markup and "keyboard" in markup:
            chat.reply_keyboard = [[KeyboardButton(b, False) if isinstance(b, str) else
                                    KeyboardButton(b["text"], bool(b.get("request_location")),
                                                   bool(b.get("request_contact")))
                                    for b in row] for row in markup["keyboard"]]
        elif markup and "remove_keyboard" in markup:
            chat.reply_keyboard = None
        self.notify("new", message)
        return message.to_dict()

    def _mention(self, entity: dict) -> dict:
        """``<a href="tg://user?id=N">`` mentions the user N: Telegram sends it as a text_mention."""
        match = re.fullmatch(r"tg://user\?id=(\d+)", entity.get("url", "")) if entity["type"] == "text_link" else None
        user = self.users.get(int(match.group(1))) if match else None
        if user is None:
            return entity
        return {"type": "text_mention", "offset": entity["offset"], "length": entity["length"], "user": user.to_dict()}

    def _target(self, params: Params, verb: str) -> Message:
        if params.get("inline_message_id"):  # inline mode is not modelled
            raise bad(f"message to {verb} not found")
        chat = self._chat(params)
        message = chat.message(params.integer("message_id", 0))
        if message is None or message.deleted or not (
                message.from_bot or (verb == "delete" and chat.type == "private")):
            raise bad(f"message to {verb} not found")
        return message

    def _edit(self, message: Message, **changes: Any) -> dict:
        for key, value in changes.items():
            setattr(message, key, value)
        message.edited, message.edit_date = True, self.now()
        message.edit_count += 1
        self.notify("edit", message)
        return message.to_dict()

    # ---- Bot API methods (api_<methodName>) ---------------------------------------------
    def api_sendMessage(self, params: Params) -> dict:
        chat = self._chat(params)
        text = self._text(params)
        return self._send(chat, params, text=text.text, html=text.html, entities=text.entities)

    def api_sendPhoto(self, params: Params) -> dict:
        chat = self._chat(params)
        caption = self._text(params, "caption", 1024)
        photo, stored = self._file(params, "photo")
        return self._send(chat, params, photo=photo, media={"photo": self.photo_sizes(stored)},
                          **self._caption_fields(caption))

    def api_sendDocument(self, params: Params) -> dict:
        chat = self._chat(params)
        caption = self._text(params, "caption", 1024)
        _, stored = self._file(params, "document")
        return self._send(chat, params, document=self.document_dict(stored),
                          **self._caption_fields(caption))

    @staticmethod
    def _caption_fields(caption: Rendered | None) -> dict:
        if caption is None:
            return {"caption": None, "caption_html": None, "caption_entities": []}
        return {"caption": caption.text, "caption_html": caption.html,
                "caption_entities": caption.entities}

    @staticmethod
    def _location(params: Params) -> dict:
        latitude, longitude = params.number("latitude"), params.number("longitude")
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise bad("wrong location specified")
        return {"latitude": latitude, "longitude": longitude}

    def api_sendLocation(self, params: Params) -> dict:
        chat = self._chat(params)
        return self._send(chat, params, location=self._location(params))

    def api_sendVenue(self, params: Params) -> dict:
        chat = self._chat(params)
        location = self._location(params)
        title, address = params.text("title"), params.text("address")
        if not title or not address:
            raise bad("venue title and address must be non-empty")
        venue = {"location": location, "title": title, "address": address}
        return self._send(chat, params, location=location, venue=venue)

    def api_editMessageText(self, params: Params) -> dict:
        message = self._target(params, "edit")
        if message.text is None:
            raise bad("there is no text in the message to edit")
        text, markup = self._text(params), self._markup(params, inline_only=True)
        if (text.text, text.entities, markup) == (message.text, message.entities,
                                                  message.inline_markup):
            raise bad(NOT_MODIFIED)
        return self._edit(message, text=text.text, html=text.html, entities=text.entities,
                          reply_markup=markup)

    def api_editMessageCaption(self, params: Params) -> dict:
        message = self._target(params, "edit")
        if message.text is not None:
            raise bad("there is no caption in the message to edit")
        fields = self._caption_fields(self._text(params, "caption", 1024))
        markup = self._markup(params, inline_only=True)
        if (fields["caption"], fields["caption_entities"], markup) == (
                message.caption, message.caption_entities, message.inline_markup):
            raise bad(NOT_MODIFIED)
        return self._edit(message, reply_markup=markup, **fields)

    def api_editMessageReplyMarkup(self, params: Params) -> dict:
        message = self._target(params, "edit")
        markup = self._markup(params, inline_only=True)
        if markup == message.inline_markup:
            raise bad(NOT_MODIFIED)
        return self._edit(message, reply_markup=markup)

    def api_deleteMessage(self, params: Params) -> bool:
        message = self._target(params, "delete")
        message.deleted = True
        self.notify("delete", message)
        return True

    def api_answerCallbackQuery(self, params: Params) -> bool:
        answer = self.callback_answers.get(params.text("callback_query_id", ""))
        if answer is None or answer.answered:
            raise bad("query is too old and response timeout expired or query ID is invalid")
        text = params.text("text")
        if text and utf16_len(text) > 200:
            raise bad("MESSAGE_TOO_LONG")
        answer.text, answer.show_alert = text, params.flag("show_alert")
        answer.url, answer.answered, answer.answered_at = params.text("url"), True, self.monotonic()
        return True

    @staticmethod
    def _commands_key(params: Params) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        kind = scope.get("type", "default")
        target = scope.get("chat_id")
        if target is not None:  # chat scopes are stored per chat (and user)
            kind = ":".join(str(p) for p in (kind, target, scope.get("user_id")) if p is not None)
        return kind, params.text("language_code", "")

    def api_setMyCommands(self, params: Params) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad("commands must be an Array of BotCommand")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad("command description must be 1-256 characters")
        self.commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands]
        return True

    def api_getMyCommands(self, params: Params) -> list[dict]:
        return self.commands.get(self._commands_key(params), [])

    def api_deleteMyCommands(self, params: Params) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def api_sendChatAction(self, params: Params) -> bool:
        chat = self._chat(params)
        if params.text("action") not in _CHAT_ACTIONS:
            raise bad("wrong parameter action in request")
        chat.actions.append(params.text("action"))
        return True
