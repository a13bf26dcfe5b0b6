"""The rural-bot command line: settings errors, CSV import and export, demo data."""

from __future__ import annotations

import concurrent.futures
import csv
import io
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import SettingsError, load_settings
from store.models import Villager

HEADER = "sku,category,price,unit,stock,name:zh,name:en,keywords\n"


@pytest.fixture
def database(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "cli.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    return path


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "DATABASE_URL"}}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=full_env,
                          timeout=60, cwd=Path(__file__).parent)


def test_a_missing_token_is_one_clear_line_and_status_2():
    result = run_cli("run", env={"DATABASE_URL": "sqlite:///:memory:"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "rural-bot: BOT_TOKEN is not set: get one from @BotFather and set BOT_TOKEN"]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name, value", [
    ("BOT_TOKEN", "not-a-token"),
    ("DATABASE_URL", "mysql://root@localhost/shop"),
    ("ADMIN_IDS", "12,abc"),
    ("TIMEZONE", "Asia/Atlantis"),
    ("DEFAULT_LOCALE", "xx_YY"),
    ("TELEGRAM_BASE_URL", "ftp://example"),
    ("METRICS_TOKEN", "fifteen-chars-x"),
    ("PAYMENT_PROVIDER_TOKEN", "sk_live_not-from-botfather"),
])
def test_each_invalid_setting_is_named(name, value):
    with pytest.raises(SettingsError) as error:
        load_settings({name: value}, env_file="")
    assert str(error.value).startswith(f"{name} is invalid")


@pytest.mark.parametrize("name", ["WEBHOOK_SECRET", "LOGISTICS_TOKEN"])
def test_a_secret_shorter_than_16_characters_is_refused_without_showing_it(name):
    short = "Sh0rt-s3cret-15"
    with pytest.raises(SettingsError) as error:
        load_settings({name: short}, env_file="")
    assert str(error.value).startswith(f"{name} is invalid: shorter than 16 characters")
    assert short not in str(error.value)
    sixteen = "Exactly-16-chars"
    assert getattr(load_settings({name: sixteen}, env_file=""), name.lower()) == sixteen


def test_a_short_secret_stops_the_start_with_one_line():
    result = run_cli("webhook", env={"DATABASE_URL": "sqlite:///:memory:", "BOT_TOKEN": "123456789:" + "a" * 30,
                                     "WEBHOOK_URL": "https://bot.example.org/tg", "WEBHOOK_SECRET": "tiny-secret"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "rural-bot: WEBHOOK_SECRET is invalid: shorter than 16 characters; use a random one at least that long "
        "(e.g. the output of `openssl rand -hex 16`)"]


@pytest.mark.parametrize("url, shown", [
    ("mysql://shop:Hunter2-pass@db/shop", "'mysql://shop:***@db/shop' is neither a sqlite:/// nor a postgresql://"),
    ("postgresql://rural:Hunter2-pass@db:54x2/rural", "'postgresql+asyncpg://rural:***@db:54x2/rural' (a port must"),
    ("postgres://rural:Hunter2-pass@:/", "'postgresql+asyncpg://rural:***@:/' (a port must be a number)"),
])
def test_a_bad_database_url_is_named_without_its_password(url, shown):
    with pytest.raises(SettingsError) as error:
        load_settings({"DATABASE_URL": url}, env_file="")
    assert str(error.value).startswith(f"DATABASE_URL is invalid: {shown}")
    assert "Hunter2" not in str(error.value)


def test_a_database_that_cannot_be_used_is_named_without_its_password(unused_tcp_port):
    for user, port, reason in [("rural", unused_tcp_port, "Connect call failed"),
                               ("nobody-here", 5432, 'role "nobody-here" does not exist')]:
        result = run_cli("partner", "list", env={"DATABASE_URL": f"postgresql://{user}:Hunter2-pass@127.0.0.1:{port}/x"})
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr and "Hunter2" not in result.stderr
        shown = f"postgresql+asyncpg://{user}:***@127.0.0.1:{port}/x"
        assert lines[0].startswith(f"rural-bot: cannot use the database {shown}: ")
        assert reason in lines[0]


def test_settings_come_from_env_file_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("ADMIN_IDS=1, 2\nTIMEZONE=Asia/Urumqi\nDATABASE_URL=postgres://u@db/x\n")
    settings = load_settings({"TIMEZONE": "Asia/Shanghai"}, env_file=env_file)
    assert settings.admin_ids == {1, 2}
    assert settings.timezone == "Asia/Shanghai"
    assert settings.database_url == "postgresql+asyncpg://u@db/x"
    assert settings.default_locale == "zh_Hans"


def test_a_file_with_bad_rows_imports_nothing_and_names_every_line(database, tmp_path, capsys):
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "A-1,food_drink,12.50,bag,10,大米,Rice,米\n", encoding="utf-8")
    assert main(["catalog", "import", str(good)]) == 0
    assert "products: 1 created, 0 updated" in capsys.readouterr().out

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER
                   + "A-1,food_drink,13.00,bag,10,大米,Rice,\n"        # fine, would update
                   + "B-2,food_drink,abc,bag,10,面粉,Flour,\n"         # line 3: price
                   + "C-3,food_drink,1.999,bag,-4,油,Oil,\n"           # line 4: decimals and stock
                   + "D-4,food_drink,5.00,bag,3,,Salt,\n"              # line 5: no Chinese name
                   + "A-1,food_drink,5.00,bag,3,盐,Salt,\n",           # line 6: repeated sku
                   encoding="utf-8")
    assert main(["catalog", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "5 bad row(s); nothing was imported" in err
    assert "line 3: price 'abc' is not a number." in err
    assert "line 4: price '1.999' has more than 2 decimals." in err
    assert "line 4: stock '-4' must be a whole number" in err
    assert "line 5: name:zh must be given." in err
    assert "line 6: sku 'A-1' already appears on line 2." in err

    assert main(["catalog", "export"]) == 0
    exported = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["sku"], r["price"]) for r in exported] == [("A-1", "12.50")]


def test_a_file_missing_a_column_or_not_utf8_is_refused(database, tmp_path, capsys):
    no_stock = tmp_path / "no_stock.csv"
    no_stock.write_text("sku,category,price,unit,name:zh\nA,b,1.00,bag,米\n", encoding="utf-8")
    assert main(["catalog", "import", str(no_stock)]) == 1
    assert "line 1: Missing columns: stock" in capsys.readouterr().err

    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes((HEADER + "A-1,food_drink,12.50,bag,10,大米,Rice,\n").encode("gbk"))
    assert main(["catalog", "import", str(gbk)]) == 1
    assert "line 2: The file is not UTF-8 text." in capsys.readouterr().err

    assert main(["catalog", "import", str(tmp_path / "missing.csv")]) == 2


def test_demo_data_loads_and_export_round_trips(database, tmp_path, capsys):
    assert main(["demo-data"]) == 0
    out = capsys.readouterr().out
    assert "centers: 16 created" in out and "products: 165 created" in out
    assert "delivery prices: 96 created" in out  # 6 bands for each center

    first = tmp_path / "first.csv"
    assert main(["catalog", "export", "-o", str(first)]) == 0
    rows = list(csv.DictReader(first.open(encoding="utf-8")))
    assert len(rows) >= 150 and len({r["category"] for r in rows}) >= 8
    assert all(r["name:zh"] and r["name:en"] for r in rows)

    assert main(["catalog", "import", str(first)]) == 0
    assert "products: 0 created, 165 updated" in capsys.readouterr().out
    second = tmp_path / "second.csv"
    assert main(["catalog", "export", "-o", str(second)]) == 0
    assert first.read_text(encoding="utf-8") == second.read_text(encoding="utf-8")


def test_centers_import_reports_bad_coordinates(database, tmp_path, capsys):
    path = tmp_path / "centers.csv"
    path.write_text(
        "code,name:zh,name:en,county,address,latitude,longitude,opening_hours,timezone\n"
        "X-1,甲村服务站,Jia,城固县,甲村,33.1,107.3,08:00-20:00,Asia/Shanghai\n"
        "X-2,乙村服务站,Yi,城固县,乙村,133.1,107.3,8am,Mars/Base\n", encoding="utf-8")
    assert main(["centers", "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert "line 3: latitude '133.1' must be a number from -90 to 90." in err
    assert "line 3: opening_hours '8am' must look like 08:00-20:00." in err
    assert "line 3: timezone 'Mars/Base' is not an IANA time zone." in err


class Terminal(io.StringIO):
    """Standard input as a person at a terminal types it."""

    def isatty(self) -> bool:
        return True


def test_partner_add_list_and_remove_from_the_command_line(database, capsys, monkeypatch):
    assert main(["demo-data"]) == 0
    capsys.readouterr()
    # Standard input is not a terminal here: without --yes nothing is asked and nothing changes.
    assert main(["partner", "add", "cg-01", "501"]) == 1
    assert "make id 501 (has not written to the bot yet) a partner of CG-01" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    assert main(["partner", "add", "cg-01", "501"]) == 1
    assert "Is this the right person? [y/N] nothing changed" in capsys.readouterr().out
    assert main(["partner", "list"]) == 0
    assert capsys.readouterr().out == ""
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    assert main(["partner", "add", "cg-01", "501"]) == 0
    assert main(["partner", "remove", "cg-01", "501", "--yes"]) == 0
    capsys.readouterr()
    assert main(["partner", "add", "cg-01", "501", "--yes"]) == 0
    assert main(["partner", "add", "CG-01", "501", "--yes"]) == 0  # twice is one partnership
    out = capsys.readouterr().out
    assert "id 501 (has not written to the bot yet) is a partner of CG-01" in out
    assert "is already a partner of CG-01" in out
    assert main(["partner", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == ["CG-01\t501\t\t"]
    assert main(["partner", "add", "XX-99", "501", "--yes"]) == 1
    assert "there is no service center with the code XX-99" in capsys.readouterr().err
    assert main(["partner", "remove", "CG-01", "501", "--yes"]) == 0
    assert main(["partner", "list", "CG-01"]) == 0
    assert capsys.readouterr().out.strip().endswith(
        "id 501 (has not written to the bot yet) is no longer a partner of CG-01")


async def test_the_command_line_refuses_an_ambiguous_username_and_shows_who_it_found(
        demo_store, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", demo_store.url)
    monkeypatch.chdir(tmp_path)
    async with demo_store.write() as session:  # remembered from before usernames were cleared on arrival
        for telegram_id, name, username in ((601, "Wang Fang", "wang"), (602, "Wang Wei", "Wang"), (603, "Li", "li")):
            session.add(Villager(telegram_id=telegram_id, first_name=name, username=username,
                                 created_at=datetime.now(timezone.utc), last_seen_at=datetime.now(timezone.utc)))

    capsys.readouterr()
    assert in_a_thread(["partner", "add", "CG-01", "@wang", "--yes"]) == 1
    err = capsys.readouterr().err
    assert "more than one person has had the username @wang; nothing changed" in err
    assert "Wang Fang @wang (id 601)" in err and "Wang Wei @Wang (id 602)" in err
    assert in_a_thread(["partner", "add", "CG-01", "@nobody", "--yes"]) == 1
    assert "nobody with the username @nobody has written to the bot" in capsys.readouterr().err
    assert in_a_thread(["partner", "add", "CG-01", "@LI", "--yes"]) == 0
    assert "make Li @li (id 603) a partner of CG-01" in capsys.readouterr().out
    assert in_a_thread(["partner", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == ["CG-01\t603\tLi\t@li"]


def in_a_thread(argv: list[str]) -> int:
    """``main`` runs its own event loop: from an async test it runs in a thread of its own."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(main, argv).result()


def test_county_staff_add_list_and_remove_from_the_command_line(database, capsys, monkeypatch):
    assert main(["demo-data"]) == 0
    capsys.readouterr()
    # Standard input is not a terminal here: without --yes nothing is asked and nothing changes.
    assert main(["staff", "add", "--county", "苍溪县", "--user", "123456"]) == 1
    out, err = capsys.readouterr()
    assert "make id 123456 (has not written to the bot yet) county staff of 苍溪县 / Cangxi County" in out
    assert "nothing changed: confirm with --yes" in err
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    assert main(["staff", "add", "--county", "苍溪县", "--user", "123456"]) == 1
    assert "Is this the right person? [y/N] nothing changed" in capsys.readouterr().out
    assert main(["staff", "list"]) == 0
    assert capsys.readouterr().out == ""
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    assert main(["staff", "add", "--county", "苍溪县", "--user", "123456"]) == 0
    assert capsys.readouterr().out.strip().endswith(
        "id 123456 (has not written to the bot yet) is county staff of 苍溪县 / Cangxi County")
    assert main(["staff", "add", "--county", "cangxi county", "--user", "123456", "--yes"]) == 0  # twice is once
    assert "is already county staff of 苍溪县 / Cangxi County" in capsys.readouterr().out
    assert main(["staff", "add", "--county", "城固县", "--user", "77", "--yes"]) == 0
    capsys.readouterr()
    assert main(["staff", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == ["城固县 / Chenggu County\t77\t\t",
                                                    "苍溪县 / Cangxi County\t123456\t\t"]
    assert main(["staff", "list", "--county", "Cangxi County"]) == 0
    assert capsys.readouterr().out.splitlines() == ["苍溪县 / Cangxi County\t123456\t\t"]

    assert main(["staff", "add", "--county", "Atlantis", "--user", "123456", "--yes"]) == 1
    assert "there is no county named Atlantis" in capsys.readouterr().err
    assert main(["staff", "list", "--county", "Atlantis"]) == 1
    assert "there is no county named Atlantis" in capsys.readouterr().err
    assert main(["staff", "add", "--county", "苍溪县", "--user", "@nobody", "--yes"]) == 1
    assert "nobody with the username @nobody has written to the bot" in capsys.readouterr().err

    assert main(["staff", "remove", "--county", "苍溪县", "--user", "123456", "--yes"]) == 0
    assert capsys.readouterr().out.strip().endswith(
        "id 123456 (has not written to the bot yet) is no longer county staff of 苍溪县 / Cangxi County")
    assert main(["staff", "remove", "--county", "苍溪县", "--user", "123456", "--yes"]) == 0
    assert "was not county staff of 苍溪县 / Cangxi County" in capsys.readouterr().out
    assert main(["staff", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == ["城固县 / Chenggu County\t77\t\t"]
