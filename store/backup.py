"""Backups of a SQLite database, and the lock that says a bot is running on one.

A backup is SQLite's online backup API in one step: a read transaction that copies every page
as of one moment, while the bot goes on writing (in WAL mode a reader never holds up a writer).
It is written beside the target under another name and renamed into place once complete, so the
target is whole or absent. A restore copies the backup the same way into the live file: SQLite
writes it as one transaction through the database's own journal (its WAL), so no old -wal can be
replayed over it, and a restore cut short leaves the database as it was.

``rural-bot run``, ``webhook`` and ``demo`` hold an exclusive lock on ``<database>.lock`` for as
long as they run; ``restore`` takes it too, without waiting, so it refuses while a bot runs.

Before an upgrade with migrations to apply, run, webhook and every other command that upgrades
save a backup beside the database (``upgrade_keeping_a_backup``).

PostgreSQL is backed up with its own tools: ``pg_commands`` gives the pg_dump and pg_restore
command lines for a ``DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import shlex
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import URL, make_url

from store.db import SQLITE_BUSY_TIMEOUT_MS, Store, all_revisions

log = logging.getLogger(__name__)


class BackupError(Exception):
    """A backup or restore that was not made; the message says why, for a person."""


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite ``DATABASE_URL``; None for PostgreSQL or an in-memory database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def _beside(database: Path, suffix: str) -> Path:
    return database.with_name(database.name + suffix)


@contextlib.contextmanager
def running_lock(database: Path, *, doing: str) -> Iterator[None]:
    """Hold ``<database>.lock`` exclusively for the block, or raise BackupError at once if another
    process holds it. The OS lets go of it when the process ends, however it ends."""
    lock = _beside(database, ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(f"cannot {doing}: a rural-bot (run, webhook or demo) is running on {database} "
                              f"(it holds {lock}); stop it first") from None
        yield
    finally:
        os.close(fd)


def backup_sqlite(database: Path, target: Path) -> int:
    """Copy ``database`` into ``target`` while it is in use; returns the size written, in bytes."""
    if not database.is_file():
        raise BackupError(f"there is no database at {database}")
    target = Path(os.path.abspath(target))
    live = {_resolved(database)} | {_resolved(_beside(database, s)) for s in ("-wal", "-shm", "-journal", ".lock")}
    if _resolved(target) in live:
        raise BackupError(f"{target} is the live database (or one of its files): give another file for the backup")
    if not target.parent.is_dir():
        raise BackupError(f"there is no folder {target.parent} for the backup")
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        _copy(_open(database), sqlite3.connect(partial), journal_mode="DELETE")
        _fsync(partial)
        os.replace(partial, target)
        _fsync(target.parent)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target.stat().st_size


def check_backup(file: Path) -> str:
    """The revision of a backup of this bot's database, after SQLite's integrity check."""
    if not file.is_file():
        raise BackupError(f"there is no file {file}")
    try:
        connection = sqlite3.connect(f"file:{quote(str(file.resolve()))}?mode=ro", uri=True)
        try:
            problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupError(f"{file} is damaged (SQLite's integrity check: {'; '.join(problems[:3])})")
            try:
                rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
            except sqlite3.OperationalError:
                rows = []
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{file} is not a SQLite database ({exc})") from None
    if len(rows) != 1:
        raise BackupError(f"{file} is a SQLite database, but not one of rural-bot (it has no alembic_version row)")
    revision = rows[0][0]
    if revision not in all_revisions():
        raise BackupError(f"{file} is at revision {revision}, which this rural-bot does not know: "
                          "it was made by a newer version")
    return revision


def restore_sqlite(file: Path, database: Path) -> str:
    """Replace ``database`` by the backup ``file``, unless a bot runs on it; returns the backup's
    revision (the next start upgrades it if it is older)."""
    revision = check_backup(file)
    if database.exists() and _resolved(file) == _resolved(database):
        raise BackupError(f"{file} is the database itself")
    database.parent.mkdir(parents=True, exist_ok=True)
    with running_lock(database, doing="restore"):
        destination = _open(database)
        _copy(sqlite3.connect(f"file:{quote(str(file.resolve()))}?mode=ro", uri=True), destination)
    # The copy was written through the WAL; closing the last connection (above) checkpointed it
    # and removed the -wal and -shm. Any left now would belong to another open connection.
    return revision


async def backup_before_upgrade(store: Store) -> Path | None:
    """On SQLite, when the database has migrations to apply, a backup beside it first
    (``<file>.before-<revision>.<UTC time>.bak``); its path, or None when none was needed."""
    database = sqlite_path(store.url)
    if database is None or not database.is_file():
        return None
    current, head = await store.revisions()
    if current is None or current == head:
        return None
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H%MZ")
    target = _beside(database, f".before-{head}.{stamp}.bak")
    await asyncio.to_thread(backup_sqlite, database, target)
    log.info("saved a backup of the database before upgrading it from %s to %s", current, head,
             extra={"path": str(target)})
    return target


async def upgrade_keeping_a_backup(store: Store, say: Callable[[str], None] = partial(print, flush=True)) -> None:
    """``store.upgrade()``, after ``backup_before_upgrade``; ``say`` tells the person who started
    the command where the backup is (printed, by default)."""
    backup = await backup_before_upgrade(store)
    if backup is not None:
        say(f"rural-bot: saved a backup of the database before upgrading it: {backup}")
    await store.upgrade()


def pg_commands(database_url: str, file: str) -> tuple[str, str]:
    """The pg_dump and pg_restore command lines for this ``DATABASE_URL`` (its password left out:
    they read it from PGPASSWORD or ~/.pgpass, or ask)."""
    url = make_url(database_url)
    query = dict(url.query)
    if "ssl" in query:  # asyncpg's name for libpq's sslmode
        query["sslmode"] = query.pop("ssl")
    libpq = URL.create("postgresql", url.username, None, url.host, url.port, url.database, query)
    libpq = shlex.quote(libpq.render_as_string(hide_password=False))
    dump = f"pg_dump --format=custom --file={shlex.quote(file)} {libpq}"
    restore = f"pg_restore --clean --if-exists --no-owner --dbname={libpq} {shlex.quote(file)}"
    return dump, restore


def _open(database: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(database)
    connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    return connection


def _copy(source: sqlite3.Connection, destination: sqlite3.Connection, journal_mode: str | None = None) -> None:
    try:
        source.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        source.backup(destination)  # every page in one step: one consistent moment
        if journal_mode:
            destination.execute(f"PRAGMA journal_mode={journal_mode}")
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite could not copy the database: {exc}") from None
    finally:
        destination.close()
        source.close()


def _resolved(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
