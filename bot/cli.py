"""``rural-bot``: the single entry point.

    rural-bot demo [--reset]        the whole bot offline: a Bot API double, the bot, and a web chat
                                    at http://127.0.0.1:8080/ (see bot/demo/); no token needed
    rural-bot run                   run the bot by long polling (applies migrations first), with the
                                    carrier endpoint, /healthz and /metrics on LISTEN_HOST:LISTEN_PORT
                                    (see bot/server.py)
    rural-bot webhook               the same, but Telegram posts updates to WEBHOOK_URL, served on
                                    the same LISTEN_HOST:LISTEN_PORT (see bot/webhook.py)
    rural-bot health                exit 0 if the bot on LISTEN_PORT answers /healthz with 200, else 1
    rural-bot db upgrade            apply pending migrations (on SQLite, a backup beside the file first)
    rural-bot db backup FILE        copy the SQLite database into FILE, while the bot runs
                                    (PostgreSQL: prints the pg_dump command)
    rural-bot db restore FILE       put a SQLite backup back, refused while a bot runs on the database
    rural-bot catalog import FILE   upsert products from CSV
    rural-bot catalog export [-o F] write the catalog as CSV
    rural-bot centers import FILE   upsert service centers from CSV
    rural-bot demo-data             load the demo catalog, counties and centers, and give every
                                    center without delivery prices the default table
    rural-bot partner add CODE WHO [--yes]  make someone (a user id or @username) a partner of a center;
                                            it shows who was found, then asks y/N (--yes: no question)
    rural-bot partner remove CODE WHO [--yes]
    rural-bot partner list [CODE]
    rural-bot staff add --county 苍溪县 --user WHO [--yes]   make someone staff of a county (bot/cli_staff.py)
    rural-bot staff remove --county 苍溪县 --user WHO [--yes]
    rural-bot staff list [--county 苍溪县]
    rural-bot ledger export --center CODE --month YYYY-MM [--out FILE]
                                    a center's cash book for a month (its time zone) as CSV
    rural-bot payments export --month YYYY-MM [--out FILE]
                                    the month's payments and refunds online (TIMEZONE) as CSV, to
                                    reconcile with the payment provider's statement
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot import cli_staff, logs
from bot.cli_people import confirmed_at_terminal, person_line, person_not_found
from bot.config import Settings, SettingsError, load_settings, without_password
from catalog.csvfile import ImportReport, error_lines
from locales import translator
from services.clock import SystemClock
from store.backup import BackupError, backup_sqlite, pg_commands, restore_sqlite, sqlite_path, upgrade_keeping_a_backup
from store.db import Store, UpgradeError

DEMO_DATA = Path(__file__).resolve().parent.parent / "catalog" / "data"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rural-bot", description="A Telegram bot for village service centers.")
    sub = p.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the bot offline with a web chat at http://127.0.0.1:8080/")
    demo.add_argument("--reset", action="store_true", help="start from a fresh demo database")
    demo.add_argument("--dir", type=Path, default=Path("var/demo"), help="where the demo keeps its database")
    demo.add_argument("--host", default="127.0.0.1", help="the web chat's address (default 127.0.0.1)")
    demo.add_argument("--port", type=int, default=8080, help="the web chat's port (default 8080; 0: any free port)")
    sub.add_parser("run", help="run the bot by long polling")
    sub.add_parser("health", help="ask the running bot's /healthz (exit 0: healthy); Docker's HEALTHCHECK")
    sub.add_parser("webhook", help="run the bot by webhook (WEBHOOK_URL, WEBHOOK_SECRET, LISTEN_HOST, LISTEN_PORT)")
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply pending migrations (on SQLite, saving a backup beside the file first)")
    backup = db.add_parser("backup", help="copy the SQLite database into FILE while the bot runs "
                                          "(PostgreSQL: prints the pg_dump command)")
    backup.add_argument("file", type=Path)
    restore = db.add_parser("restore", help="put a SQLite backup back (refused while a bot runs on the database)")
    restore.add_argument("file", type=Path)
    cat = sub.add_parser("catalog", help="products").add_subparsers(dest="action", required=True)
    imp = cat.add_parser("import", help="upsert products from a UTF-8 CSV file")
    imp.add_argument("file", type=Path)
    exp = cat.add_parser("export", help="write the catalog as CSV")
    exp.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    centers = sub.add_parser("centers", help="service centers").add_subparsers(dest="action", required=True)
    cimp = centers.add_parser("import", help="upsert service centers from a UTF-8 CSV file")
    cimp.add_argument("file", type=Path)
    sub.add_parser("demo-data", help="load the demo catalog, counties, centers and delivery prices")
    partner = sub.add_parser("partner", help="who runs which center").add_subparsers(dest="action", required=True)
    for action in ("add", "remove"):
        change = partner.add_parser(action, help=f"{action} a partner of a center")
        change.add_argument("code", help="the center's code, e.g. CG-01")
        change.add_argument("who", help="the person's numeric Telegram user id, or @username if they wrote to the bot")
        change.add_argument("--yes", action="store_true",
                            help="do it without asking y/N (needed when standard input is not a terminal)")
    listing = partner.add_parser("list", help="list partners")
    listing.add_argument("code", nargs="?", help="only this center")
    cli_staff.add_parser(sub)
    ledger = sub.add_parser("ledger", help="the centers' cash books").add_subparsers(dest="action", required=True)
    export = ledger.add_parser("export", help="a center's cash book entries of one month as CSV")
    export.add_argument("--center", required=True, help="the center's code, e.g. CG-01")
    export.add_argument("--month", required=True, help="the month, YYYY-MM, in the center's time zone")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    paid = sub.add_parser("payments", help="money paid online").add_subparsers(dest="action", required=True)
    paid_out = paid.add_parser("export", help="a month's payments and refunds as CSV, for the provider's statement")
    paid_out.add_argument("--month", required=True, help="the month, YYYY-MM, in the bot's TIMEZONE")
    paid_out.add_argument("--out", type=Path, help="file to write (default: standard output)")
    return p


def print_report(what: str, report: ImportReport) -> int:
    t = translator("en")
    if report.errors:
        print(f"{len(report.errors)} bad row(s); nothing was imported:", file=sys.stderr)
        for line in error_lines(report.errors, t):
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"{what}: {report.created} created, {report.updated} updated")
    return 0


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror}") from None


class DatabaseUnusable(Exception):
    """The database cannot be reached or refused us; the message names it without its password."""


def _database_error(url: str, error: Exception) -> DatabaseUnusable:
    reason = str(getattr(error, "orig", None) or error).splitlines()[0] if str(error) else type(error).__name__
    reason = re.sub(r"^<class '[\w.]+'>: ", "", reason)  # how SQLAlchemy wraps asyncpg's errors
    return DatabaseUnusable(f"cannot use the database {without_password(url)}: {reason}")


async def _with_store(settings: Settings, work) -> int:
    store = Store(settings.database_url)
    try:
        try:
            await upgrade_keeping_a_backup(store)  # the first connection: a refused one is an OSError
        except OSError as exc:
            raise _database_error(settings.database_url, exc) from None
        return await work(store)
    except SQLAlchemyError as exc:
        raise _database_error(settings.database_url, exc) from None
    finally:
        await store.close()


async def _demo(args: argparse.Namespace) -> int:
    from bot.demo.runner import run_demo

    return await run_demo(args.dir, args.host, args.port, args.reset)


async def load_demo_data(store: Store) -> int:
    from catalog.importer import import_products
    from services.centers import import_centers
    from services.delivery_words import give_default_tables

    status = print_report("centers", await import_centers(store, (DEMO_DATA / "centers.csv").read_bytes()))
    status = status or print_report("products", await import_products(
        store, SystemClock().now(), (DEMO_DATA / "products.csv").read_bytes()))
    return status or print_report("delivery prices", await give_default_tables(
        store, SystemClock(), (DEMO_DATA / "delivery_prices.csv").read_bytes()))


def check_health(settings: Settings) -> int:
    import urllib.error
    import urllib.request

    host = "127.0.0.1" if settings.listen_host in ("0.0.0.0", "::", "") else settings.listen_host
    url = f"http://{host}:{settings.listen_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            print(f"{url}: {response.status} {response.read().decode()}")
            return 0
    except urllib.error.HTTPError as exc:
        print(f"{url}: {exc.code} {exc.read().decode()}", file=sys.stderr)
    except OSError as exc:
        print(f"{url}: {exc}", file=sys.stderr)
    return 1


def backup_or_restore(settings: Settings, action: str, file: Path) -> int:
    database = _sqlite_database(settings, file, "pg_dump" if action == "backup" else "pg_restore")
    if database is None:
        return 1
    if action == "backup":
        size = backup_sqlite(database, file)
        print(f"backed up {database} into {file} ({size / 1e6:.1f} MB)")
    else:
        revision = restore_sqlite(file, database)
        print(f"restored {file} (revision {revision}) into {database}; the next start upgrades it if it is older")
    return 0


def _sqlite_database(settings: Settings, file: Path, tool: str) -> Path | None:
    """The SQLite file to back up or restore; None after telling how PostgreSQL does it."""
    database = sqlite_path(settings.database_url)
    if database is not None:
        return database
    if settings.database_url.startswith("sqlite"):
        raise BackupError("an in-memory database has nothing to back up or restore")
    dump, restore_ = pg_commands(settings.database_url, str(file))
    print(f"rural-bot: DATABASE_URL is PostgreSQL: {tool} does this, not rural-bot; nothing was written.\n"
          f"Back up (while the bots run):\n  {dump}\n"
          f"Restore (with the bots stopped):\n  {restore_}\n"
          "(The password is left out: pg_dump and pg_restore read PGPASSWORD or ~/.pgpass, or ask.)",
          file=sys.stderr)
    return None


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from catalog.importer import export_products, import_products
    from services import partners
    from services.centers import import_centers
    from services.errors import NotFound
    from services.partners import Actor, AmbiguousPerson, ConfirmationLapsed, PersonChanged, UnknownPerson

    command = (args.command, getattr(args, "action", None))
    if command in (("run", None), ("webhook", None)):
        from bot.runner import serve

        return asyncio.run(serve(settings, webhook=args.command == "webhook"))
    if command == ("health", None):
        return check_health(settings)
    if command == ("demo", None):
        return asyncio.run(_demo(args))
    if command in (("db", "backup"), ("db", "restore")):
        return backup_or_restore(settings, args.action, args.file)
    if args.command == "staff":
        return asyncio.run(_with_store(settings, cli_staff.work(args)))

    async def upgrade(store: Store) -> int:
        print("database is up to date")
        return 0

    async def products_in(store: Store) -> int:
        return print_report("products", await import_products(store, SystemClock().now(), read_file(args.file)))

    async def products_out(store: Store) -> int:
        text = await export_products(store)
        if args.output:
            args.output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0

    async def centers_in(store: Store) -> int:
        return print_report("centers", await import_centers(store, read_file(args.file)))

    async def partner_change(store: Store) -> int:
        actor = Actor(0, "rural-bot", is_admin=True)  # whoever runs the command line is an admin
        clock = SystemClock()
        try:
            change = await partners.preview_partner_change(store, actor, args.code, args.who, args.action == "add")
        except NotFound:
            print(f"there is no service center with the code {args.code}", file=sys.stderr)
            return 1
        except (UnknownPerson, AmbiguousPerson) as exc:
            return person_not_found(args.who, exc)
        return await confirm_partner_change(store, clock, actor, change)

    async def confirm_partner_change(store: Store, clock: SystemClock, actor: Actor, change) -> int:
        who, code = person_line(change.person), change.center_code
        if not change.needed:
            print(f"{who} is already a partner of {code}" if change.adding else f"{who} was not a partner of {code}")
            return 0
        print(f"{'make' if change.adding else 'remove'} {who} {'a partner of' if change.adding else 'from'} "
              f"{code} {change.center_names.get('en') or change.center_names.get('zh_Hans', '')}")
        asked_at = clock.now()
        if not confirmed_at_terminal(args.yes):
            return 1
        try:
            person = change.person
            done = await partners.confirm_partner_change(store, clock, actor, change.center_id, person.telegram_id,
                                                         person.fingerprint, asked_at, change.adding)
        except (PersonChanged, ConfirmationLapsed):
            print("nothing changed: the person changed, or the question waited too long; run the command again",
                  file=sys.stderr)
            return 1
        if done.adding:
            print(f"{who} is a partner of {code}" if done.needed else f"{who} is already a partner of {code}")
        else:
            print(f"{who} is no longer a partner of {code}" if done.needed else f"{who} was not a partner of {code}")
        return 0

    async def partner_list(store: Store) -> int:
        try:
            found = await partners.list_partners(store, args.code)
        except NotFound:
            print(f"there is no service center with the code {args.code}", file=sys.stderr)
            return 1
        for p in found:
            print(f"{p.center_code}\t{p.telegram_id}\t{p.first_name}\t{'@' + p.username if p.username else ''}")
        return 0

    async def ledger_export(store: Store) -> int:
        from services.ledger_export import export_month

        try:
            text = await export_month(store, args.center, args.month)
        except NotFound:
            print(f"rural-bot: there is no service center with the code {args.center}", file=sys.stderr)
            return 2
        if args.out:
            args.out.write_text(text, encoding="utf-8", newline="")
        else:
            sys.stdout.write(text)
        return 0

    async def payments_export(store: Store) -> int:
        from services.payments_export import export_month

        text = await export_month(store, args.month, settings.timezone)
        if args.out:
            args.out.write_text(text, encoding="utf-8", newline="")
        else:
            sys.stdout.write(text)
        return 0

    if command in (("ledger", "export"), ("payments", "export")):
        from services.ledger_export import BadMonth, parse_month

        try:
            parse_month(args.month)
        except BadMonth:
            print(f"rural-bot: {args.month} is not a month: write it YYYY-MM, e.g. 2026-11", file=sys.stderr)
            return 2

    work = {
        ("db", "upgrade"): upgrade,
        ("partner", "add"): partner_change,
        ("partner", "remove"): partner_change,
        ("partner", "list"): partner_list,
        ("catalog", "import"): products_in,
        ("catalog", "export"): products_out,
        ("centers", "import"): centers_in,
        ("demo-data", None): load_demo_data,
        ("ledger", "export"): ledger_export,
        ("payments", "export"): payments_export,
    }[command]
    return asyncio.run(_with_store(settings, work))


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logs.configure()
    try:
        settings = Settings() if args.command == "demo" else load_settings()  # the demo brings its own
        return dispatch(args, settings)
    except SettingsError as exc:
        print(f"rural-bot: {exc}", file=sys.stderr)
        return 2
    except (UpgradeError, BackupError, DatabaseUnusable) as exc:
        print(f"rural-bot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
