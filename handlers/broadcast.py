"""(being built)"""

from __future__ import annotations

from telegram.ext import Application

FORMS: dict = {}
PHOTO_FORMS: dict = {}


def register(app: Application) -> None:
    pass
