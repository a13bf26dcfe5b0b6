"""Helpers the tests share: reading the store (store.py), a person's way through the shop
(orders.py) and a partner's order desk with the county staff's admin (desk.py). Reading chats and
a villager's first steps live in tests/chat.py; fixtures in tests/conftest.py."""
