"""Every word the bot shows comes from locales/, complete in every language shipped."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from locales import LOCALES_DIR, available_locales, locale_for_language_code, translator

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"t": None, "N_": None, "plural": (1, 2)}
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
TAG = re.compile(r"</?[a-z]+[^>]*>")


def source_messages() -> set[str]:
    found = set()
    for package in ("bot", "handlers", "services", "catalog", "locales"):
        for _file, _line, message, _comments, _context in extract_from_dir(
                ROOT / package, method_map=[("**.py", "python")], keywords=KEYWORDS):
            found.update([message] if isinstance(message, str) else message)
    return found


@pytest.mark.parametrize("locale", sorted(available_locales()))
def test_catalog_translates_every_message_in_the_code(locale):
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=locale)
    translated = {}  # each msgid, the singular and the plural alike -> its translations
    for m in catalog:
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if m.id and all(strings) and not m.fuzzy:
            translated.update(dict.fromkeys(m.id if isinstance(m.id, tuple) else (m.id,), strings))
    messages = source_messages()
    assert len(messages) > 100
    missing = sorted(messages - set(translated))
    assert not missing, f"{locale} lacks {missing[:10]}"
    for msgid in messages:
        for string in translated[msgid]:
            assert set(PLACEHOLDER.findall(string)) == set(PLACEHOLDER.findall(msgid)), msgid
        assert sorted(TAG.findall(string)) == sorted(TAG.findall(msgid)), msgid


def test_the_readmes_extraction_finds_exactly_the_template_messages(tmp_path):
    """The README's ``pybabel extract`` (the command line, with Babel's default keywords too) finds
    the template's messages and no others; Babel 2.19 once glued three docstrings of
    catalog/search.py into one bogus message."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(line for line in readme.splitlines() if line.startswith(".venv/bin/pybabel extract "))
    args = shlex.split(line)[2:]
    args[args.index("-o") + 1] = str(tmp_path / "messages.pot")
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", *args],
                   cwd=ROOT, check=True, capture_output=True)

    def msgids(path: Path) -> set:
        with path.open("rb") as pot:
            return {m.id for m in read_po(pot) if m.id}

    assert msgids(tmp_path / "messages.pot") == msgids(LOCALES_DIR / "messages.pot")


def test_both_languages_are_shipped_and_chosen_from_telegram():
    assert {"zh_Hans", "en"} <= available_locales()
    assert locale_for_language_code("zh-hans", "en") == "zh_Hans"
    assert locale_for_language_code("zh-TW", "en") == "zh_Hans"
    assert locale_for_language_code("en-GB", "zh_Hans") == "en"
    assert locale_for_language_code("ru", "zh_Hans") == "en"
    assert locale_for_language_code(None, "zh_Hans") == "zh_Hans"
    assert translator("zh_Hans")("🛍 Cart") == "🛍 购物车"
    assert translator("en")("category:food_drink") == "🍚 Food & drink"
