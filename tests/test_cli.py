"""The rural-bot command line: settings errors, CSV import and export, demo data."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import SettingsError, load_settings

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
])
def test_each_invalid_setting_is_named(name, value):
    with pytest.raises(SettingsError) as error:
        load_settings({name: value}, env_file="")
    assert str(error.value).startswith(f"{name} is invalid")


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


def test_partner_add_list_and_remove_from_the_command_line(database, capsys):
    assert main(["demo-data"]) == 0
    assert main(["partner", "add", "cg-01", "501"]) == 0
    assert main(["partner", "add", "CG-01", "501"]) == 0  # twice is one partnership
    assert "501 is a partner of CG-01" in capsys.readouterr().out
    assert main(["partner", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == ["CG-01\t501\t\t"]
    assert main(["partner", "add", "XX-99", "501"]) == 1
    assert "there is no service center with the code XX-99" in capsys.readouterr().err
    assert main(["partner", "remove", "CG-01", "501"]) == 0
    assert main(["partner", "list", "CG-01"]) == 0
    assert capsys.readouterr().out.strip().endswith("501 is no longer a partner of CG-01")
