"""Offline sandbox: a Telegram Bot API double and its model of people and chats."""

from .botapi import (ApiCall, ApiError, BotApiDouble, Button, CallbackAnswer, Chat, Group,
                     KeyboardButton, Message, Person, StoredFile, User)

__all__ = ["ApiCall", "ApiError", "BotApiDouble", "Button", "CallbackAnswer", "Chat", "Group",
           "KeyboardButton", "Message", "Person", "StoredFile", "User"]
