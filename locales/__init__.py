"""Gettext catalogs and the translator the handlers use.

Each language is one folder, ``locales/<locale>/LC_MESSAGES/messages.po``. The ``.po`` files are
compiled in memory when first used, so there is no build step, and adding a language means adding
one catalog and changing no code.
"""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent
DOMAIN = "messages"
FALLBACK_LOCALE = "en"


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where the locale is known."""
    return message


@lru_cache(maxsize=1)
def available_locales() -> frozenset[str]:
    return frozenset(
        po.parent.parent.name for po in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
    )


class Translator:
    """Translations for one locale: ``t("Cart")``, ``t.plural("{n} item", "{n} items", n)``."""

    def __init__(self, locale: str, translations: gettext.NullTranslations):
        self.locale = locale
        self._translations = translations
        self.language = Locale.parse(locale).language  # "zh_Hans" -> "zh": the key of data names

    def __call__(self, message: str, **params: object) -> str:
        text = self._translations.gettext(message)
        return text.format(**params) if params else text

    def plural(self, singular: str, plural: str, n: int, **params: object) -> str:
        return self._translations.ngettext(singular, plural, n).format(n=n, **params)

    @property
    def display_name(self) -> str:
        """This language's name in itself ("English", "中文 (简体)"): for choosing a language."""
        return self.name_of(self.locale)

    def name_of(self, locale: str) -> str:
        """Another language's name in this one: "English" is "英语" to a Chinese reader."""
        name = Locale.parse(locale).get_display_name(self.locale) or locale
        return name[:1].upper() + name[1:]


@lru_cache(maxsize=None)
def translator(locale: str) -> Translator:
    path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        return Translator(FALLBACK_LOCALE, gettext.NullTranslations())
    with path.open("rb") as po:
        catalog = read_po(po, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translator(locale, gettext.GNUTranslations(buffer))


def localized(names: dict, language: str, fallback: str = "") -> str:
    """A data name ({"zh": "大米", "en": "Rice"}) in ``language``, else Chinese, else any."""
    return names.get(language) or names.get("zh") or next(iter(names.values()), fallback)


@lru_cache(maxsize=256)
def locale_for_language_code(language_code: str | None, default: str) -> str:
    """Pick a catalog for Telegram's ``language_code`` ("zh-hans", "en-GB", ...).

    Any language with a catalog is matched by its primary subtag; a language without one gets
    English, and no language code at all gets the configured default.
    """
    if not language_code:
        return default
    primary = language_code.replace("_", "-").split("-")[0].lower()
    for locale in sorted(available_locales()):
        if Locale.parse(locale).language == primary:
            return locale
    return FALLBACK_LOCALE
