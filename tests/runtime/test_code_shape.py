"""The shape docs/ARCHITECTURE.md describes, kept by a test as the import contracts keep the layers
(pyproject's [tool.importlinter]): callback data is read and written only by typed buttons
(handlers/callbacks.py), forms are waited for only through handlers/forms.py, no handler wakes a
pump, and no module grows past about 400 lines."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 400
# Modules allowed to be longer, and why (the issue that set the limit says: say why).
LONGER = {
    "bot/sandbox/botapi.py": "the Bot API double: one aiohttp server answering Telegram's methods",
    "bot/sandbox/model.py": "the Bot API double: the people, chats and messages a test drives",
    "store/models.py": "the schema: every table in one file, the map of what the store holds",
    "handlers/callbacks.py": "the catalogue of every kind of button, one short class each, read as a table",
}


def sources(*packages: str) -> dict[str, str]:
    return {str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
            for package in packages for path in sorted((ROOT / package).rglob("*.py"))}


def offenders(pattern: str, files: dict[str, str], allowed: set[str] = frozenset()) -> list[str]:
    found = re.compile(pattern)
    return [f"{name}:{number}: {line.strip()}" for name, text in files.items() if name not in allowed
            for number, line in enumerate(text.splitlines(), 1) if found.search(line)]


def test_callback_data_is_read_and_written_only_by_typed_buttons():
    handlers = sources("handlers")
    assert not offenders(r"context\.match|\bpattern=|CallbackQueryHandler\(", handlers, {"handlers/callbacks.py"})
    assert not offenders(r"callback_data=", handlers, {"handlers/callbacks.py", "handlers/ui.py"})
    # A button's data is a CallbackData, never a string built by hand.
    assert not offenders(r"\bbutton\([^()]*(\([^()]*\))?[^()]*,\s*f?[\"']", handlers)


def test_no_test_file_imports_another_or_a_conftest():
    """Shared test helpers live in tests/chat.py and tests/support/; a conftest is only pytest's (each
    folder may have one, and only one of them can be the module called conftest)."""
    tests = sources("tests")
    assert not offenders(r"^\s*from (conftest|test_\w+) import|^\s*import (conftest|test_\w+)", tests)


def test_forms_are_waited_for_only_through_the_forms_registry():
    assert not offenders(r"set_awaiting\(", sources("handlers"), {"handlers/forms.py"})


def test_no_handler_wakes_a_pump():
    assert not offenders(r"\.kick(_promotions)?\(", sources("handlers"), {"handlers/context.py"})


def test_no_module_is_over_about_400_lines():
    longer = {name: text.count("\n") for name, text in sources("bot", "handlers", "services", "catalog", "store",
                                                                 "locales").items()
              if text.count("\n") > MAX_LINES and name not in LONGER}
    assert not longer, f"modules over {MAX_LINES} lines (split them by meaning, or say why in LONGER): {longer}"
