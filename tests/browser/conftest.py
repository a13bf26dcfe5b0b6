"""The demo's fixtures: ``demo``, rural-bot demo started in this process, with ``web``, a client as
its page is one; and ``demo_process``, rural-bot demo as its own process, for a real browser."""

from __future__ import annotations

import pytest

from bot.demo.runner import Demo
from support.browser import DemoProcess
from support.demo_web import WebChatClient, session_for


@pytest.fixture
async def demo(tmp_path):
    running = Demo(tmp_path / "demo", port=0)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def web(demo):
    async with session_for(demo.url) as session:
        yield WebChatClient(session, demo.url)


@pytest.fixture
def demo_process(tmp_path):
    running = DemoProcess(tmp_path / "demo")
    yield running
    running.kill()
