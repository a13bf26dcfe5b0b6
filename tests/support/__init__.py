"""Helpers the tests share: reading the store (store.py) and a person's way through the shop
(orders.py). Reading chats and a villager's first steps live in tests/chat.py; fixtures in
tests/conftest.py."""
