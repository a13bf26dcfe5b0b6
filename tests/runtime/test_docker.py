"""No Docker engine runs here, so the image is not built; what can be checked is that the image's
default command and its healthcheck work when run directly, and that the files say what the
issue asks (a slim base pinned to one Python release, every package from a lock with hashes, a
non-root user, two replicas on PostgreSQL with a volume and a password from the environment)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from support.processes import free_port, start_bot, webhook_env

ROOT = Path(__file__).resolve().parents[2]


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
    # One exact Python release (a patch version, not a moving "3.11"), as pyproject requires.
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", instruction("FROM"))
    assert instruction("USER") not in ("root", "0")
    assert exec_form(instruction("CMD")) == ["rural-bot", "webhook"]
    assert exec_form(instruction("HEALTHCHECK")) == ["rural-bot", "health"]
    compose = (ROOT / "docker-compose.yml").read_text()
    assert re.search(r"replicas: 2", compose) and "postgres:" in compose and "pgdata:/var/lib/postgresql/data" in compose


def locked() -> dict[str, tuple[str, list[str]]]:
    """requirements.lock: name -> (version, hashes)."""
    text = (ROOT / "requirements.lock").read_text().replace("\\\n", " ")
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})+)", line)
        assert match, f"requirements.lock: {line!r} is not one exact pin with its hashes"
        pins[canonicalize_name(match[1])] = (match[2], re.findall(r"sha256:([0-9a-f]{64})", match[3]))
    return pins


def test_the_image_installs_only_what_the_lock_pins_with_hashes():
    runs = [line for line in (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
            if line.startswith("RUN ")]
    assert "pip install --require-hashes --no-deps -r requirements.lock" in runs[0]
    assert "pip install --no-deps --no-build-isolation ." in runs[1]  # the bot itself, nothing fetched
    pins = locked()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    # Every package the bot needs to run is pinned, at a version its floor allows; and so is what
    # each of them needs in turn, as installed here. So are the tools that build the bot itself.
    build = [Requirement(r) for r in project["build-system"]["requires"]]
    wanted = [Requirement(r) for r in project["project"]["dependencies"]]
    seen: set[tuple[str, str]] = set()
    while wanted:
        requirement = wanted.pop()
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in requirements.lock"
        assert requirement.specifier.contains(pins[name][0], prereleases=True), f"lock has {name}=={pins[name][0]}"
        for extra in sorted(requirement.extras) + [""]:
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            for needed in map(Requirement, metadata.distribution(name).requires or []):
                if needed.marker is None or needed.marker.evaluate({"extra": extra}):
                    wanted.append(needed)
    for requirement in build:
        name = canonicalize_name(requirement.name)
        assert name in pins and requirement.specifier.contains(pins[name][0]), f"{requirement} is not locked"
    needed_names = {name for name, _ in seen} | {canonicalize_name(r.name) for r in build}
    assert needed_names == set(pins), "requirements.lock pins packages nothing needs"


def test_compose_takes_the_database_password_from_the_environment_and_refuses_to_start_without_it():
    compose = (ROOT / "docker-compose.yml").read_text()
    password = re.search(r"POSTGRES_PASSWORD: (.+)", compose)[1]
    assert re.fullmatch(r"\$\{POSTGRES_PASSWORD:\?set POSTGRES_PASSWORD[^}]*\}", password)
    url = re.search(r"DATABASE_URL: (.+)", compose)[1]
    assert re.fullmatch(r"postgresql://rural:\$\{POSTGRES_PASSWORD:\?[^}]+\}@postgres:5432/rural", url)
    for secret in ("BOT_TOKEN", "WEBHOOK_SECRET"):
        assert re.search(rf"{secret}: \$\{{{secret}:\?set {secret}", compose)
    assert not re.search(r"://\w+:\w+@", compose), "a literal password in docker-compose.yml"


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
