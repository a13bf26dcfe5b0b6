"""``rural-bot``: the single entry point.

    rural-bot run                   run the bot by long polling (applies migrations first)
    rural-bot db upgrade            apply pending migrations
    rural-bot catalog import FILE   upsert products from CSV
    rural-bot catalog export [-o F] write the catalog as CSV
    rural-bot centers import FILE   upsert service centers from CSV
    rural-bot demo-data             load the demo catalog, counties and centers
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot.config import Settings, SettingsError, load_settings
from catalog.csvfile import ImportReport
from locales import translator
from services.clock import SystemClock
from store.db import Store

DEMO_DATA = Path(__file__).resolve().parent.parent / "catalog" / "data"
log = logging.getLogger("rural-bot")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rural-bot", description="A Telegram bot for village service centers.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot by long polling")
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply pending migrations")
    cat = sub.add_parser("catalog", help="products").add_subparsers(dest="action", required=True)
    imp = cat.add_parser("import", help="upsert products from a UTF-8 CSV file")
    imp.add_argument("file", type=Path)
    exp = cat.add_parser("export", help="write the catalog as CSV")
    exp.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    centers = sub.add_parser("centers", help="service centers").add_subparsers(dest="action", required=True)
    cimp = centers.add_parser("import", help="upsert service centers from a UTF-8 CSV file")
    cimp.add_argument("file", type=Path)
    sub.add_parser("demo-data", help="load the demo catalog, counties and centers")
    return p


def print_report(what: str, report: ImportReport) -> int:
    t = translator("en")
    if report.errors:
        print(f"{len(report.errors)} bad row(s); nothing was imported:", file=sys.stderr)
        for error in report.errors:
            print(f"  line {error.line}: {t(error.message, **error.params)}", file=sys.stderr)
        return 1
    print(f"{what}: {report.created} created, {report.updated} updated")
    return 0


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror}") from None


async def _with_store(settings: Settings, work) -> int:
    store = Store(settings.database_url)
    try:
        await store.upgrade()
        return await work(store)
    finally:
        await store.close()


async def _run(settings: Settings) -> int:
    from bot.app import build_application
    from bot.runner import start_polling, stop_polling, wait_for_stop_signal

    settings.require_token()
    store = Store(settings.database_url)
    await store.upgrade()
    app = build_application(settings, store)
    await start_polling(app)
    log.info("bot is running; press Ctrl-C to stop")
    try:
        await wait_for_stop_signal()
    finally:
        await stop_polling(app)
        await store.close()
    return 0


async def load_demo_data(store: Store) -> int:
    from catalog.importer import import_products
    from services.centers import import_centers

    status = print_report("centers", await import_centers(store, (DEMO_DATA / "centers.csv").read_bytes()))
    return status or print_report("products", await import_products(
        store, SystemClock(), (DEMO_DATA / "products.csv").read_bytes()))


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from catalog.importer import export_products, import_products
    from services.centers import import_centers

    command = (args.command, getattr(args, "action", None))
    if command == ("run", None):
        return asyncio.run(_run(settings))

    async def upgrade(store: Store) -> int:
        print("database is up to date")
        return 0

    async def products_in(store: Store) -> int:
        return print_report("products", await import_products(store, SystemClock(), read_file(args.file)))

    async def products_out(store: Store) -> int:
        text = await export_products(store)
        if args.output:
            args.output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0

    async def centers_in(store: Store) -> int:
        return print_report("centers", await import_centers(store, read_file(args.file)))

    work = {
        ("db", "upgrade"): upgrade,
        ("catalog", "import"): products_in,
        ("catalog", "export"): products_out,
        ("centers", "import"): centers_in,
        ("demo-data", None): load_demo_data,
    }[command]
    return asyncio.run(_with_store(settings, work))


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        settings = load_settings()
        return dispatch(args, settings)
    except SettingsError as exc:
        print(f"rural-bot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
