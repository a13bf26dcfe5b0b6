"""No Docker engine runs here, so the image is not built; what can be checked is that the image's
default command and its healthcheck work when run directly, and that the files say what the
issue asks (slim base, non-root user, two replicas on PostgreSQL with a volume)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path

from processes import free_port, start_bot, webhook_env

ROOT = Path(__file__).resolve().parent.parent


def instruction(name: str) -> str:
    lines = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith(name + " ")]
    assert len(lines) == 1, f"expected one {name} in the Dockerfile"
    return lines[0][len(name) + 1:]


def exec_form(text: str) -> list[str]:
    return json.loads(text[text.index("["):])


async def run(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    assert argv[0] == "rural-bot"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *argv[1:], cwd=cwd, env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await process.communicate()
    return process.returncode, out.decode()


def test_the_image_is_slim_runs_as_a_user_and_checks_its_health():
    assert instruction("FROM").endswith("-slim")
    assert instruction("USER") not in ("root", "0")
    assert exec_form(instruction("CMD")) == ["rural-bot", "webhook"]
    assert exec_form(instruction("HEALTHCHECK")) == ["rural-bot", "health"]
    compose = (ROOT / "docker-compose.yml").read_text()
    assert re.search(r"replicas: 2", compose) and "postgres:" in compose and "pgdata:/var/lib/postgresql/data" in compose


async def test_the_default_command_serves_and_the_healthcheck_follows_it(demo_store, telegram, tmp_path):
    port = free_port()
    env = webhook_env(demo_store.url, telegram, LISTEN_PORT=str(port), LISTEN_HOST="0.0.0.0")
    bot = await start_bot(exec_form(instruction("CMD"))[1], env, tmp_path)
    health = exec_form(instruction("HEALTHCHECK"))
    status, out = await run(health, env, tmp_path)
    assert status == 0 and '"status": "ok"' in out
    assert telegram.webhook["url"] == env["WEBHOOK_URL"]
    assert (await bot.terminate())[0] == 0
    status, out = await run(health, env, tmp_path)
    assert status == 1 and "Connection refused" in out
