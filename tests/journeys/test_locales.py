"""Every word the bot shows comes from locales/, complete in every language shipped."""

from __future__ import annotations

import ast
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
KEYWORDS = {"t": None, "desk_t": None, "N_": None, "plural": (1, 2)}
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
TAG = re.compile(r"</?[a-z]+[^>]*>")
# A data name looked up by its key, t(f"category:{code}"): the keys are catalogued with the data.
KEYED = re.compile(r"f'(\w+|\{\w+\}):\{\w+\}'")


def source_messages() -> set[str]:
    found = set()
    for package in ("bot", "handlers", "services", "catalog", "locales"):
        for _file, _line, message, _comments, _context in extract_from_dir(
                ROOT / package, method_map=[("**.py", "python")], keywords=KEYWORDS):
            found.update([message] if isinstance(message, str) else message)
    return found


def _returns_translator(node: ast.AST) -> tuple[int, ...] | None:
    """() for a function declared ``-> Translator``; (i,) for ``-> tuple[..., Translator, ...]`` with
    the translator at position i; None for any other."""
    returns = getattr(node, "returns", None)
    if returns is None:
        return None
    text = ast.unparse(returns)
    if text == "Translator":
        return ()
    if isinstance(returns, ast.Subscript) and text.startswith("tuple["):
        parts = [ast.unparse(e) for e in returns.slice.elts] if isinstance(returns.slice, ast.Tuple) else []
        return (parts.index("Translator"),) if "Translator" in parts else None
    return None


def translator_calls(tree: ast.Module, makers: dict[str, tuple[int, ...]]) -> list[ast.Call]:
    """Every call of a Translator in a module: ``t(...)``, ``context.t(...)``, ``t.plural(...)``, a name
    bound to a translator (a parameter annotated ``Translator``, or the result of a function returning
    one: ``desk_t = card_t(...)``, ``chat_id, t = await desk_chat(...)``), and ``maker(...)(...)``."""
    bound: set[str] = {"t"}
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None and ast.unparse(node.annotation) == "Translator":
            bound.add(node.arg)

    def made(call: ast.AST) -> tuple[int, ...] | None:
        call = call.value if isinstance(call, ast.Await) else call
        if not isinstance(call, ast.Call):
            return None
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if isinstance(func, ast.Name) and name in bound:
            return None  # desk_t(...) with desk_t a translator: a string
        return makers.get(name)

    for _ in range(2):  # names bound from names bound
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                where = made(node.value)
                if where is None:
                    continue
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    if where and isinstance(target, ast.Tuple):
                        target = target.elts[where[0]]
                    if isinstance(target, ast.Name):
                        bound.add(target.id)
                    elif isinstance(target, ast.Attribute):
                        bound.add(target.attr)

    def is_translator(func: ast.AST) -> bool:
        if isinstance(func, ast.Name):
            return func.id in bound
        if isinstance(func, ast.Attribute):
            return func.attr in bound
        return made(func) == ()

    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "plural":
            func = func.value
        if is_translator(func):
            calls.append(node)
    return calls


def used_msgids() -> tuple[set[str], list[str]]:
    """The literal msgids the code hands to a translator, and the calls whose message could never be
    in a catalog (an f-string, or literals joined with +)."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8"))
             for package in ("bot", "handlers", "services", "catalog", "locales")
             for path in sorted((ROOT / package).rglob("*.py"))}
    makers = {"translator": ()}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _returns_translator(node) is not None:
                makers[node.name] = _returns_translator(node)
    used, wrong = set(), []
    for path, tree in trees.items():
        for call in translator_calls(tree, makers):
            for arg in call.args[:2] if isinstance(call.func, ast.Attribute) and call.func.attr == "plural" \
                    else call.args[:1]:
                if isinstance(arg, ast.Call) and ast.unparse(arg.func) == "N_" and arg.args:
                    arg = arg.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    used.add(arg.value)
                elif isinstance(arg, ast.BinOp) or isinstance(arg, ast.JoinedStr) and not KEYED.fullmatch(ast.unparse(arg)):
                    wrong.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    return used, wrong


def test_every_message_handed_to_a_translator_is_extracted_and_translated():
    """However a translator is reached (``t``, ``desk_t``, ``card_t(...)``, ``context.desk_t(x)(...)``,
    a name it was given), the string it is given is one ``pybabel extract`` finds, so it is in the
    template and (test above) translated: "Why is it rejected?" once reached a Chinese group in English."""
    used, wrong = used_msgids()
    assert len(used) > 100
    assert not wrong, f"messages that no catalog can hold: {wrong}"
    with (LOCALES_DIR / "messages.pot").open("rb") as pot:
        template = {m.id for m in read_po(pot) if m.id}
    template = {i for ids in template for i in (ids if isinstance(ids, tuple) else (ids,))}
    missing = sorted(used - source_messages())
    assert not missing, f"translated at run time but not extracted: {missing[:10]}"
    assert not sorted(used - template), f"not in locales/messages.pot: {sorted(used - template)[:10]}"


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


def test_the_partner_has_one_chinese_name():
    """A village service center (服务站) is run by its 站长: the Chinese catalog and the demo's own
    words call the partner that, never 合伙人 or 合作伙伴, which read as a business co-owner."""
    with (LOCALES_DIR / "zh_Hans" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale="zh_Hans")
    def about_partners(msgid: str) -> bool:  # not the command /partner, nor a placeholder {partner}
        return "partner" in re.sub(r"/partner|\{partner\}", "", msgid).lower()

    partner = [m for m in catalog if m.id and about_partners(str(m.id))]
    assert len(partner) > 20
    assert all("站长" in str(m.string) for m in partner), [m.id for m in partner if "站长" not in str(m.string)][:5]
    for path in [LOCALES_DIR / "zh_Hans" / "LC_MESSAGES" / "messages.po", ROOT / "bot" / "demo" / "webchat.py",
                 ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        assert "合伙人" not in text and "合作伙伴" not in text, path
