"""The Bot API double's inline mode: a person types ``@bot words`` in a chat, the bot answers with
``answerInlineQuery``, and a chosen result is posted in that chat by the person, "via @bot".

``InlineMethods`` is a mixin of :class:`~bot.sandbox.botapi.BotApiDouble`, which provides
``bot_user``, ``files``, ``_markup()``, ``photo_sizes()`` and ``notify()``. The person's side is
``Person.ask_inline`` and ``Person.choose_inline`` (model.py), which use ``inline_query_update`` and
``post_inline_result`` here.

The answer is checked as Telegram checks it (core.telegram.org/bots/api#answerinlinequery): at
most 50 results, each with an id of 1 to 64 bytes unique in the answer, a known type and the
fields that type requires, captions and texts within their limits and valid HTML, an inline
keyboard only, ``next_offset`` within 64 bytes, and a button that opens the bot with a
``start_parameter`` of 1 to 64 letters, digits, ``_`` and ``-``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .html import HtmlError, Rendered, render, utf16_len
from .model import Chat, Message, Params, User, bad

__all__ = ["InlineAnswer", "InlineMethods", "MAX_INLINE_RESULTS"]

MAX_INLINE_RESULTS = 50
_START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Each type's required fields; "photo" is either cached (photo_file_id) or by URL (and its thumbnail).
_REQUIRED = {"article": ("title", "input_message_content"), "photo": ()}
_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


@dataclass
class InlineAnswer:
    """The bot's answerInlineQuery for one inline query (``answered`` False if it never answered)."""

    query_id: str
    query: str
    offset: str = ""
    results: list[dict] = field(default_factory=list)
    cache_time: int = 300  # Telegram's default
    is_personal: bool = False
    next_offset: str = ""
    button: dict | None = None
    answered: bool = False

    def result(self, result_id: str) -> dict:
        found = next((r for r in self.results if r["id"] == result_id), None)
        if found is None:
            raise AssertionError(f"no inline result {result_id!r}; ids: {[r['id'] for r in self.results]}")
        return found

    @property
    def titles(self) -> list[str]:
        """What the person reads in the list above their keyboard: each result's title (a photo
        without one: its caption's first line)."""
        return [r.get("title") or (r.get("caption") or "").split("\n")[0] for r in self.results]


class InlineMethods:
    """``answerInlineQuery`` and the inline side of a person's actions."""

    # Set by BotApiDouble.__init__: whether BotFather's /setinline is on (without it Telegram never
    # sends an inline query); the bot's allowed_updates, as it last asked (getUpdates, setWebhook;
    # None: Telegram's default, which has inline queries); the answers, by inline query id.
    inline_mode: bool
    allowed_updates: list[str] | None
    inline_answers: dict[str, InlineAnswer]

    def inline_query_update(self, person: User, query: str, offset: str, chat_type: str | None) -> dict:
        """The inline_query update for ``person`` typing ``@bot query``; its answer is awaited in
        ``inline_answers``. AssertionError if Telegram would not send it to this bot."""
        if not self.inline_mode:
            raise AssertionError("inline mode is off for this bot (BotFather's /setinline)")
        if self.allowed_updates and "inline_query" not in self.allowed_updates:
            raise AssertionError(f"the bot did not ask for inline queries: allowed_updates={self.allowed_updates}")
        query_id = self.new_query_id()
        self.inline_answers[query_id] = InlineAnswer(query_id, query, offset)
        data: dict[str, Any] = {"id": query_id, "from": person.to_dict(), "query": query, "offset": offset}
        if chat_type is not None:
            data["chat_type"] = chat_type
        return {"inline_query": data}

    def post_inline_result(self, person: User, answer: InlineAnswer, result_id: str, chat: Chat) -> Message:
        """``person`` chose one of the answer's results: Telegram sends it to ``chat`` as a
        message of theirs, "via @bot", with the result's buttons."""
        if not answer.answered:
            raise AssertionError(f"the bot never answered the inline query {answer.query!r}")
        result = answer.result(result_id)
        fields: dict[str, Any] = {"reply_markup": result.get("reply_markup"),
                                  "media": {"via_bot": self.bot_user.to_dict()}}
        if result["type"] == "photo":
            caption = self._inline_text(result.get("caption"), result.get("parse_mode"), 1024)
            photo = result.get("photo_file_id") or result["photo_url"]
            stored = self.files.get(photo) or self.store_file("photo", None, url=photo)
            fields["photo"] = photo
            fields["media"]["photo"] = self.photo_sizes(stored)
            if caption is not None:
                fields.update(caption=caption.text, caption_html=caption.html, caption_entities=caption.entities)
        else:
            content = result["input_message_content"]
            text = self._inline_text(content["message_text"], content.get("parse_mode"), 4096)
            fields.update(text=text.text, html=text.html, entities=text.entities)
        message = chat._new_message(person, self.now(), **fields)
        self.notify("new", message)
        return message

    # ---- the Bot API method ---------------------------------------------------------------------
    def api_answerInlineQuery(self, params: Params) -> bool:
        answer = self.inline_answers.get(params.text("inline_query_id", ""))
        if answer is None or answer.answered:
            raise bad(_TOO_OLD)
        results = params.get("results")
        if not isinstance(results, list):
            raise bad("results must be an Array of InlineQueryResult")
        if len(results) > MAX_INLINE_RESULTS:
            raise bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            self._check_result(result, seen)
        next_offset = params.text("next_offset", "")
        if len(next_offset.encode()) > 64:
            raise bad("NEXT_OFFSET_INVALID")
        button = params.get("button")
        if button is not None:
            if not isinstance(button, dict) or not button.get("text"):
                raise bad("BUTTON_TEXT_INVALID")
            if "web_app" not in button and not _START_PARAMETER.fullmatch(str(button.get("start_parameter", ""))):
                raise bad("START_PARAM_INVALID")
        cache_time = params.integer("cache_time", 300)
        if cache_time < 0:
            raise bad("CACHE_TIME_INVALID")
        answer.results, answer.cache_time, answer.next_offset, answer.button = results, cache_time, next_offset, button
        answer.is_personal, answer.answered = params.flag("is_personal"), True
        return True

    def _check_result(self, result: Any, seen: set[str]) -> None:
        if not isinstance(result, dict):
            raise bad("can't parse InlineQueryResult JSON object")
        result_id = result.get("id")
        if not isinstance(result_id, str) or not 1 <= len(result_id.encode()) <= 64:
            raise bad("RESULT_ID_INVALID")
        if result_id in seen:
            raise bad("RESULT_ID_DUPLICATE")
        seen.add(result_id)
        kind = result.get("type")
        if kind not in _REQUIRED:
            raise bad(f"result type {kind!r} is not supported by this double")
        missing = [name for name in _REQUIRED[kind] if not result.get(name)]
        if kind == "photo" and not (result.get("photo_file_id")
                                    or (result.get("photo_url") and result.get("thumbnail_url"))):
            missing.append("photo_file_id or photo_url and thumbnail_url")
        if missing:
            raise bad(f"can't parse InlineQueryResult: {', '.join(missing)} required")
        if kind == "photo":
            self._inline_text(result.get("caption"), result.get("parse_mode"), 1024)
            photo = result.get("photo_file_id")
            if photo is not None and photo not in self.files:
                raise bad("wrong file identifier/HTTP URL specified")
        else:
            content = result["input_message_content"]
            if not isinstance(content, dict) or not content.get("message_text"):
                raise bad("message text is empty")
            self._inline_text(content["message_text"], content.get("parse_mode"), 4096)
        if result.get("reply_markup") is not None:
            self._markup(Params(reply_markup=result["reply_markup"]), inline_only=True)

    @staticmethod
    def _inline_text(raw: str | None, parse_mode: str | None, limit: int) -> Rendered | None:
        if not raw:
            return None
        try:
            rendered = render(raw, parse_mode)
        except HtmlError as err:
            raise bad(f"can't parse entities: {err}") from None
        if utf16_len(rendered.text) > limit:
            raise bad("MESSAGE_TOO_LONG" if limit > 1024 else "message caption is too long")
        return rendered

