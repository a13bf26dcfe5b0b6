"""``rural-bot demo``: the whole bot offline, and the web chat a browser plays it with.

- runner.py: the demo's data, people and groups, and starting it all (``run_demo``)
- world.py: whom a visitor can play (``Role``) and the demo's people, groups and centers (``DemoWorld``)
- webchat.py, webguard.py, static/: the web chat, what it lets in, and its page
"""
