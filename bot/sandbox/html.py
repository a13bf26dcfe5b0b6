"""Telegram-style HTML checking for the Bot API double.

Telegram accepts only a small HTML subset in ``parse_mode=HTML`` messages and rejects
anything else with ``400 Bad Request: can't parse entities: <reason>``.  ``parse_html``
mirrors those rules closely enough that a bot's formatting mistakes show up in tests:
it returns the plain text a person would see plus Telegram-style ``MessageEntity`` dicts
(offsets and lengths in UTF-16 code units), or raises :class:`HtmlError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["HtmlError", "Rendered", "detect_entities", "parse_html", "render", "utf16_len"]

# tag -> entity type (None: handled specially)
_TAGS: dict[str, str | None] = {
    "b": "bold", "strong": "bold",
    "i": "italic", "em": "italic",
    "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "span": "spoiler", "tg-spoiler": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_SPACE = " \t\r\n\f\v"


class HtmlError(ValueError):
    """The text is not valid Telegram HTML; ``str(err)`` is Telegram's reason."""


@dataclass
class Rendered:
    """A message text as a person sees it."""

    text: str  # plain text: tags removed, entities decoded
    html: str | None  # the raw HTML as sent, None for plain text
    entities: list[dict] = field(default_factory=list)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for limits and offsets."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Open:
    tag: str
    start: int  # UTF-16 offset in the output
    byte_offset: int
    attrs: dict[str, str]


class _Parser:
    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0
        self.out: list[str] = []
        self.out_len = 0  # UTF-16 length of the output so far
        self.stack: list[_Open] = []
        self.entities: list[dict] = []

    def byte_offset(self, index: int) -> int:
        return len(self.src[:index].encode("utf-8"))

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.out_len += utf16_len(text)

    def run(self) -> Rendered:
        src = self.src
        while self.pos < len(src):
            char = src[self.pos]
            if char == "&":
                self.entity()
            elif char == "<":
                if src.startswith("</", self.pos):
                    self.end_tag()
                else:
                    self.start_tag()
            else:
                nxt = min((i for i in (src.find("&", self.pos), src.find("<", self.pos)) if i >= 0),
                          default=len(src))
                self.emit(src[self.pos:nxt])
                self.pos = nxt
        if self.stack:
            raise HtmlError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"')
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return Rendered("".join(self.out), self.src, self.entities)

    def decode_entity(self, match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("#"):
            code = int(name[2:], 16) if name[1:2] in "xX" else int(name[1:])
            if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
                return chr(code)
        elif name in _NAMED_ENTITIES:
            return _NAMED_ENTITIES[name]
        raise HtmlError(f'Unsupported HTML entity "{match.group(0)}" '
                        f"at byte offset {self.byte_offset(match.start())}")

    def entity(self) -> None:
        match = _ENTITY_RE.match(self.src, self.pos)
        if match is None:  # a bare "&" is just text
            self.emit("&")
            self.pos += 1
            return
        self.emit(self.decode_entity(match))
        self.pos = match.end()

    def read_name(self) -> str:
        src, start = self.src, self.pos
        while self.pos < len(src) and src[self.pos] not in _SPACE + ">=":
            self.pos += 1
        return src[start:self.pos].lower()

    def skip_space(self) -> None:
        while self.pos < len(self.src) and self.src[self.pos] in _SPACE:
            self.pos += 1

    def start_tag(self) -> None:
        begin = self.pos
        where = f"at byte offset {self.byte_offset(begin)}"
        self.pos += 1
        tag = self.read_name()
        if tag not in _TAGS:
            raise HtmlError(f'Unsupported start tag "{tag}" {where}')
        attrs = self.attributes(tag, where)
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlError(f'Tag "span" must have class "tg-spoiler" {where}')
        if tag == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise HtmlError(f'Tag "tg-emoji" must have a numeric "emoji-id" attribute {where}')
        self.stack.append(_Open(tag, self.out_len, self.byte_offset(begin), attrs))

    def attributes(self, tag: str, where: str) -> dict[str, str]:
        src, attrs = self.src, {}
        while True:
            self.skip_space()
            if self.pos >= len(src):
                raise HtmlError(f"Unclosed start tag {where}")
            if src[self.pos] == ">":
                self.pos += 1
                return attrs
            name = self.read_name()
            if not name:
                raise HtmlError(f'Empty attribute name in the tag "{tag}" {where}')
            self.skip_space()
            if self.pos < len(src) and src[self.pos] == "=":
                self.pos += 1
                self.skip_space()
                attrs[name] = self.attribute_value(where)
            elif tag == "blockquote" and name == "expandable":
                attrs[name] = ""
            else:
                raise HtmlError(f'Expected equal sign in declaration of an attribute of the tag '
                                f'"{tag}" {where}')

    def attribute_value(self, where: str) -> str:
        src = self.src
        if self.pos >= len(src):
            raise HtmlError(f"Unclosed start tag {where}")
        quote = src[self.pos]
        if quote in "\"'":
            end = src.find(quote, self.pos + 1)
            if end < 0:
                raise HtmlError(f"Unclosed start tag {where}")
            raw, self.pos = src[self.pos + 1:end], end + 1
        else:
            start = self.pos
            while self.pos < len(src) and src[self.pos] not in _SPACE + ">":
                self.pos += 1
            raw = src[start:self.pos]
        return _ENTITY_RE.sub(self.decode_entity, raw)

    def end_tag(self) -> None:
        begin = self.pos
        where = f"at byte offset {self.byte_offset(begin)}"
        if not self.stack:
            raise HtmlError(f"Unexpected end tag {where}")
        self.pos += 2
        name = self.read_name()
        self.skip_space()
        if self.pos >= len(self.src) or self.src[self.pos] != ">":
            raise HtmlError(f"Unclosed end tag {where}")
        self.pos += 1
        opened = self.stack.pop()
        if name and name != opened.tag:
            raise HtmlError(f'Unmatched end tag {where}, expected "</{opened.tag}>", '
                            f'found "</{name}>"')
        self.close(opened)

    def close(self, opened: _Open) -> None:
        length = self.out_len - opened.start
        kind = _TAGS[opened.tag]
        entity: dict = {"type": kind, "offset": opened.start, "length": length}
        if opened.tag == "a":
            if not opened.attrs.get("href"):
                return
            entity["url"] = opened.attrs["href"]
        elif opened.tag == "blockquote" and "expandable" in opened.attrs:
            entity["type"] = "expandable_blockquote"
        elif opened.tag == "tg-emoji":
            entity["custom_emoji_id"] = opened.attrs["emoji-id"]
        elif opened.tag == "code" and self.stack and self.stack[-1].tag == "pre":
            language = opened.attrs.get("class", "")
            if language.startswith("language-"):  # <pre><code class="language-x">
                self.stack[-1].attrs["language"] = language[len("language-"):]
                return
        elif opened.tag == "pre" and opened.attrs.get("language"):
            entity["language"] = opened.attrs["language"]
        if length > 0:
            self.entities.append(entity)


def parse_html(source: str) -> Rendered:
    """Parse Telegram HTML; raise :class:`HtmlError` with Telegram's reason if invalid."""
    return _Parser(source).run()


def render(raw: str, parse_mode: str | None, entities: list[dict] | None = None) -> Rendered:
    """Turn a text as sent by a bot into what a person sees.

    Only ``HTML`` is parsed; Markdown modes are stored verbatim (not validated).
    """
    if parse_mode and parse_mode.lower() == "html":
        rendered = parse_html(raw)
    else:
        rendered = Rendered(raw, None, list(entities or []))
    rendered.entities = detect_entities(rendered.text, rendered.entities)
    return rendered


# What Telegram finds by itself in any message text: commands, links, @mentions, #hashtags, e-mails.
_DETECTED = re.compile(
    r"(?P<email>\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
    r"|(?P<url>\bhttps?://[^\s<>\"]+[^\s<>\".,;:!?)\]'])"
    r"|(?<![\w/])(?P<bot_command>/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?)(?![\w/])"
    r"|(?<![\w@])(?P<mention>@[A-Za-z0-9_]{5,32})(?!\w)"
    r"|(?<![\w#])(?P<hashtag>#\w*[^\W\d_]\w*)"
)
_OPAQUE = {"code", "pre", "text_link", "url", "email", "bot_command", "mention", "hashtag", "text_mention"}


def detect_entities(text: str, entities: list[dict]) -> list[dict]:
    """Add the entities Telegram detects in ``text`` outside code, pre and links to ``entities``."""
    taken = [(e["offset"], e["offset"] + e["length"]) for e in entities if e["type"] in _OPAQUE]
    found = []
    for match in _DETECTED.finditer(text):
        start = utf16_len(text[:match.start()])
        end = start + utf16_len(match.group())
        if any(start < stop and begin < end for begin, stop in taken):
            continue
        found.append({"type": match.lastgroup, "offset": start, "length": end - start})
    if not found:
        return entities
    return sorted(entities + found, key=lambda e: (e["offset"], -e["length"]))
