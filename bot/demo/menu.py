"""The web chat's "/" menu: the commands Telegram's app would offer a person in a chat, from what
the bot set with setMyCommands (the Bot API double keeps them by scope and language)."""

from __future__ import annotations

from bot.sandbox.model import Chat


def command_menu(commands: dict[tuple[str, str], list[dict]], chat: Chat, user_id: int,
                 language: str | None) -> list[dict]:
    """The list of the narrowest scope that has one, in the person's language before the list for
    every language, as Telegram picks it. (The administrators' scopes are left out: the double does
    not know who administers a group.) An empty list counts as none set."""
    if chat.type == "private":
        scopes = [f"chat:{chat.id}", "all_private_chats", "default"]
    else:
        scopes = [f"chat_member:{chat.id}:{user_id}", f"chat:{chat.id}", "all_group_chats", "default"]
    for scope in scopes:
        for code in ((language or "").split("-")[0], ""):
            if found := commands.get((scope, code)):
                return [{"command": c["command"], "description": c["description"]} for c in found]
    return []
