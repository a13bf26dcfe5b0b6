"""Chit-chat: a greeting, a thank-you or an emoji typed where a search would go. It is answered
kindly with the menu and is not a search, so it is never recorded as a miss."""

from __future__ import annotations

import re
import unicodedata
from enum import Enum


class Chat(str, Enum):
    GREETING = "greeting"
    THANKS = "thanks"
    OK = "ok"


_WORDS = {
    Chat.GREETING: ("你好", "您好", "你们好", "大家好", "喂", "哈喽", "嗨", "早", "早上好", "上午好", "中午好",
                    "下午好", "晚上好", "hi", "hello", "hey", "hallo", "good morning", "good afternoon",
                    "good evening", "👋", "🙋"),
    Chat.THANKS: ("谢谢", "谢谢你", "谢谢您", "多谢", "感谢", "谢了", "thanks", "thank you", "thx", "ty",
                  "🙏", "❤️", "❤", "😊", "🙂", "😀", "😄"),
    Chat.OK: ("好", "好的", "好吧", "行", "可以", "嗯", "嗯嗯", "哦", "知道了", "收到", "明白", "ok", "okay",
              "yes", "no problem", "👍", "👌", "✅"),
}
_KNOWN = {word: kind for kind, words in _WORDS.items() for word in words}
# Trailing punctuation and politeness that do not change what was meant: "谢谢！", "hi!!", "你好呀".
_TAIL = re.compile(r"[\s!！.。,，~～?？]+$|[呀啊啦哈嘛]+$")
_SKIN = re.compile("[\U0001F3FB-\U0001F3FF\uFE0F]")


def chitchat(text: str) -> Chat | None:
    """What kind of small talk ``text`` is, or None when it may be a search."""
    words = unicodedata.normalize("NFKC", text).strip().lower()
    words = _SKIN.sub("", words)
    for _ in range(3):
        words = _TAIL.sub("", words).strip()
    if not words or len(words) > 20:
        return None
    if words in _KNOWN:
        return _KNOWN[words]
    parts = words.split()
    if len(parts) > 1 and all(part in _KNOWN for part in parts):
        return _KNOWN[parts[0]]
    if all(_is_emoji(ch) for ch in words.replace(" ", "")):
        return Chat.OK  # any other emoji alone: a reaction, not a search
    return None


def _is_emoji(ch: str) -> bool:
    return unicodedata.category(ch) == "So" or ch in "\u200d"
