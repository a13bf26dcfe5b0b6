"""The demo in a real browser (tests/browser): ``rural-bot demo`` as its own process, Debian's
Chromium driven by Playwright with a phone-sized page, and what a person does there.

Screenshots are saved under ``var/screenshots/``. Without Chromium a test is skipped with the
reason, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PHONE = {"width": 360, "height": 640}
# A microphone that plays a tone, allowed without asking: the page can record a voice note.
FAKE_MICROPHONE = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
WAIT = 15_000  # ms: the longest a person waits for the bot in this test


def chromium_or_skip() -> str:
    reason = None
    try:
        import playwright  # noqa: F401
    except ImportError:
        reason = "Playwright is not installed (pip install -e '.[test]')"
    if reason is None and not os.access(CHROMIUM, os.X_OK):
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true needs the browser test: {reason}")
        pytest.skip(reason)
    return CHROMIUM


class DemoProcess:
    """``rural-bot demo`` in a child process, as a newcomer starts it."""

    def __init__(self, folder: Path):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "demo", "--reset", "--dir", str(folder), "--port", "0"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.url = self._wait_for(r"open (http://\S+) in your browser", 60).group(1)

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put("")  # end of output

    def _wait_for(self, pattern: str, timeout: float) -> re.Match:
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"the demo did not print {pattern!r}; it printed:\n{''.join(self.output)}") from None
            self.output.append(line)
            if not line:
                raise AssertionError(f"the demo exited early:\n{''.join(self.output)}")
            if match := re.search(pattern, line):
                return match

    def interrupt(self) -> int:
        """Ctrl-C, as a person at the terminal would; returns the exit status."""
        self.process.send_signal(signal.SIGINT)
        self._wait_for(r"The demo has stopped\.", 15)
        return self.process.wait(timeout=15)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def be(page, person_id: int, chat_id: int | None = None) -> None:
    """Pick the person in the list, then one of their chats (default: the private chat)."""
    page.select_option("#persona", str(person_id))
    page.locator(f'.chat-tab[data-chat-id="{chat_id or person_id}"]').click()


def bot_message(page, text: str):
    return page.locator(".msg.bot", has_text=text).last


def tap(page, message, label: str) -> None:
    message.locator("button.ikb", has_text=label).first.click()


@contextlib.contextmanager
def phone_page(url: str, locale: str = "en-US"):
    """Chromium with a phone-sized page on ``url``, its language ``locale``; the page must raise no
    script error."""
    from playwright.sync_api import sync_playwright

    executable = chromium_or_skip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox", *FAKE_MICROPHONE])
        page = browser.new_page(viewport=PHONE, locale=locale)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url)
        yield page
        assert errors == []
        browser.close()
