"""The demo's people, groups and centers: whom a visitor can play, as the runner registers them and
the web chat shows them."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.sandbox import BotApiDouble, Group, Person
from locales import locale_for_language_code
from services.centers import CenterView


@dataclass(frozen=True)
class Role:
    """Someone the visitor can play."""

    telegram_id: int
    first_name: str
    role: str  # villager | partner | bystander | admin | buyer (a town buyer: no center, pays by card)
    language: str  # Telegram's language_code: "zh-hans" or "en"
    center_index: int  # which demo center they belong to (0: the first; a town buyer's is only shown)
    phone: str
    featured: bool = True

    @property
    def locale(self) -> str:
        """The bot's language for them, as the bot picks it from Telegram's language_code."""
        return locale_for_language_code(self.language, "zh_Hans")


FEATURED = (
    Role(1001, "王芳", "villager", "zh-hans", 0, "+8613800001001"),
    Role(1002, "Li Ming", "villager", "en", 1, "+8613800001002"),
    Role(2001, "张伟", "partner", "zh-hans", 0, "+8613800002001"),
    Role(1003, "Chen Hao", "bystander", "en", 0, "+8613800001003"),
    Role(9001, "Zhou Min", "admin", "en", 0, "+8613800009001"),
    Role(3001, "周丽", "buyer", "zh-hans", 0, "+8613900001111"),
)


def group_id(center_index: int) -> int:
    return -1_002_000_000_001 - center_index


@dataclass
class DemoWorld:
    """The demo's people, groups and centers, as the double and the store know them."""

    double: BotApiDouble
    roles: list[Role] = field(default_factory=list)
    centers: list[CenterView] = field(default_factory=list)
    groups: dict[int, Group] = field(default_factory=dict)  # center index -> its order desk group

    def person(self, role: Role) -> Person:
        return self.double.person(role.telegram_id, role.first_name, language_code=role.language)

    def center_of(self, role: Role) -> CenterView:
        return self.centers[role.center_index]
