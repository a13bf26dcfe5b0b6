"""Engine, sessions and migrations.

The Telegram update whose handler is running (``UpdateInHand``, set by ``bot.app``) is marked
done in the first durable transaction its handler commits, so that the update's effect and the
record that it happened commit together or not at all (``services.updates``).

SQLite runs in WAL mode with foreign keys on (but not its migrations: see ``Store.upgrade``). Its
write transactions start with ``BEGIN IMMEDIATE``: a deferred transaction that reads and then
writes can fail at once with "database is locked" when another writer got in between, whereas an
immediate one waits its turn (``busy_timeout``). Reads keep SQLite's deferred ``BEGIN`` so they
never queue behind writers.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from store import sqlite_driver
from store.models import ProcessedUpdate

log = logging.getLogger(__name__)
T = TypeVar("T")
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_IMMEDIATE = "rural_immediate"
_EFFECTS = "rural_effects"  # session.info's key for what ``mark_effect`` noted
CONNECT_TIMEOUT = 5.0  # seconds
SQLITE_BUSY_TIMEOUT_MS = 15000  # how long a SQLite writer waits for another to finish
_NETWORK_ERRNOS = {errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE, errno.ETIMEDOUT,
                   errno.EHOSTUNREACH, errno.EHOSTDOWN, errno.ENETUNREACH, errno.ENETDOWN}
_DURABLE_COMMIT = text("SET LOCAL synchronous_commit TO ON")
_SQLITE_OUTAGES = ("locked", "busy", "unable to open", "disk i/o error", "disk is full")
# Test only (tests/runtime/test_crash.py): the transaction that marks an update done waits this many
# seconds just before its commit, so that a test can kill the process in the middle of a handler.
_TEST_DELAY_BEFORE_DONE = float(os.environ.get("RURAL_TEST_DELAY_BEFORE_DONE") or 0)


@dataclass(eq=False)
class UpdateInHand:
    """A Telegram update being handled in ``task``. While its handler runs (``handler_running``),
    the first durable transaction of that task to commit marks the update done with it. Changes
    made before (finding the person), by other tasks (the pumps), or without waiting for the disk
    (``Store.write(durable=False)``: what a person can simply do again) do not mark it."""

    update_id: int
    now: Callable[[], datetime]
    task: asyncio.Task | None
    handler_running: bool = False
    done: bool = False  # marked done, by this process or, if ``elsewhere``, by another
    elsewhere: bool = False


UPDATE_IN_HAND: ContextVar[UpdateInHand | None] = ContextVar("update_in_hand", default=None)


class UpdateDoneElsewhere(Exception):
    """The update was handled by another process while this one held a claim that had lapsed:
    this one's change is rolled back, so that the update has its effect once."""


def _to_mark_done() -> UpdateInHand | None:
    """The update a transaction begun now must mark done, if any."""
    in_hand = UPDATE_IN_HAND.get()
    if (in_hand is None or in_hand.done or not in_hand.handler_running
            or in_hand.task is not asyncio.current_task()):
        return None
    return in_hand


async def _mark_done(session: AsyncSession, in_hand: UpdateInHand) -> None:
    marked = await session.execute(
        update(ProcessedUpdate)
        .where(ProcessedUpdate.update_id == in_hand.update_id, ProcessedUpdate.done_at.is_(None))
        .values(done_at=in_hand.now(), body=None)
    )
    if marked.rowcount != 1:
        in_hand.done = in_hand.elsewhere = True
        raise UpdateDoneElsewhere(in_hand.update_id)
    if _TEST_DELAY_BEFORE_DONE:
        log.warning("test delay: update %s waits %s s before its commit", in_hand.update_id, _TEST_DELAY_BEFORE_DONE)
        await asyncio.sleep(_TEST_DELAY_BEFORE_DONE)


def mark_effect(session: AsyncSession, effect: str) -> None:
    """Note that this transaction did something to act on once it commits (``"outbox"``: rows to
    send; ``"catalog"``, ``"market"``: what the search indexes hold). ``Store.after_commit``'s
    hooks hear of it after the commit; a rollback drops the note with the change."""
    session.info.setdefault(_EFFECTS, set()).add(effect)


class UpgradeError(Exception):
    """The migrations could not be applied; the database is as it was before."""


class Store:
    """The database: ``async with store.write() as session`` for a change, ``read()`` to look."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 20):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            _ensure_sqlite_folder(url)
            # Every session ends in an explicit COMMIT or ROLLBACK, so the pool need not roll back
            # again on return (a round trip to the driver thread per session). The pool keeps a
            # connection for each update handled at once: one opened beyond it is a new thread and
            # a new SQLite connection, closed again at once.
            self.engine = create_async_engine(url, echo=echo, pool_reset_on_return=None, module=sqlite_driver.dbapi(),
                                              pool_size=pool_size, max_overflow=pool_size // 2, hide_parameters=True)
            _configure_sqlite(self.engine)
        else:
            # The pool holds a connection for each update handled at once (16) and the pumps, so that
            # connections are kept, not opened and closed. No ping before each use (three round trips
            # on asyncpg): a connection that died with the database fails once, which invalidates the
            # whole pool, and the next use connects afresh. A database that does not answer is
            # reported within seconds, not after asyncpg's 60 s. Commits do not wait for the disk
            # unless ``write`` says they must (durable, the default): see ``write``. The connection
            # used last is taken first (LIFO): below full load a few PostgreSQL backends, warm in
            # the caches, do the work instead of all in turn (at 110 updates/s, PostgreSQL's CPU
            # per update fell from 0.83 to 0.62 ms).
            self.engine = create_async_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=pool_size // 2, pool_timeout=CONNECT_TIMEOUT,
                pool_use_lifo=True,
                connect_args={"timeout": CONNECT_TIMEOUT, "server_settings": {"synchronous_commit": "off"}},
                hide_parameters=True,
            )
        writer = self.engine.execution_options(**{_IMMEDIATE: True}) if self.is_sqlite else self.engine
        # PostgreSQL reads run without BEGIN and COMMIT (two round trips saved): under its READ
        # COMMITTED each statement sees what was committed when it began, in a transaction or not.
        # So do single statements that need not be durable (``write_one``).
        reader = self.engine if self.is_sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._reader = async_sessionmaker(reader, expire_on_commit=False)
        self._writer = async_sessionmaker(writer, expire_on_commit=False)
        # SQLite has one writer at a time. Waiting for it inside SQLite means its busy handler,
        # which sleeps and polls; queueing our own writers on a lock hands over at once.
        self._write_turn = asyncio.Lock() if self.is_sqlite else contextlib.nullcontext()
        # Called after each commit of a transaction marked by ``mark_effect``, with what it noted (the
        # application wires its pumps' kicks and its search indexes here). Not after a rollback.
        self.after_commit: list[Callable[[frozenset[str]], None]] = []

    @asynccontextmanager
    async def write(self, *, durable: bool = True) -> AsyncIterator[AsyncSession]:
        """One short transaction that may change things; committed when the block ends.

        ``durable=False`` is for what a person can simply do again: where they are in a
        conversation, their cart, the record of an update taken. On PostgreSQL its commit does not
        wait for the disk (``synchronous_commit`` off, the connections' setting; a durable
        transaction turns it on for itself, one more round trip): it is seen by everyone at once,
        and the next durable commit of any process makes it durable too (the log is written in
        order), but a crash of the database server within about 0.6 s may lose it. Waiting for the
        disk costs 0.1 ms usually and 20-60 ms when the disk stalls, which is then a stall of every
        update in flight. SQLite commits this way always (``synchronous=NORMAL``).

        Inside a handler, the first durable transaction also marks the handler's update done (see
        ``UpdateInHand``); if the update is done already, it rolls back and raises
        ``UpdateDoneElsewhere``. A non-durable one does not: a crash before the handler's durable
        change (a form's step cleared, then the decision) must leave the update to be handled
        again, and those steps are done again with it.
        """
        in_hand = _to_mark_done() if durable else None
        async with self._write_turn, self._writer() as session, session.begin():
            info = session.info
            if durable and not self.is_sqlite:
                await session.execute(_DURABLE_COMMIT)
            yield session
            if in_hand is not None:
                await _mark_done(session, in_hand)
        if in_hand is not None:
            in_hand.done = True
        self._committed(info)

    @asynccontextmanager
    async def write_one(self) -> AsyncIterator[AsyncSession]:
        """One statement, not durable (see ``write``), on every update's path: on PostgreSQL it
        commits by itself, one round trip instead of BEGIN, the statement and COMMIT. A second
        statement in the block would be a transaction of its own: use ``write`` for that."""
        if self.is_sqlite:
            async with self.write(durable=False) as session:
                yield session
        else:
            async with self._reader() as session, session.begin():
                info = session.info
                yield session
            self._committed(info)

    def _committed(self, info: dict) -> None:
        """Tell ``after_commit``'s hooks what the committed transaction noted (``mark_effect``). A hook that
        fails is logged: the change is committed, and its caller is not told otherwise."""
        effects = info.pop(_EFFECTS, None)
        if not effects:
            return
        for hook in list(self.after_commit):
            try:
                hook(frozenset(effects))
            except Exception:  # noqa: BLE001
                log.exception("a hook after a commit failed")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._reader() as session, session.begin():
            yield session

    async def ping(self) -> None:
        """A trivial query: raises if the database cannot be reached (the caller bounds the wait)."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def upgrade(self, revision: str = "head") -> None:
        """Apply pending migrations, all in one transaction: all of them or none.

        On SQLite they run on a connection of their own with foreign keys off, as SQLite's
        procedure for changing a table asks: alembic rebuilds a table by copying it and dropping
        the old one, and with foreign keys on that drop deletes (ON DELETE CASCADE) or refuses
        because of the rows that point at it. The pragma does nothing inside a transaction, so it
        is set when the connection opens; the connection is closed afterwards, never pooled.
        ``PRAGMA foreign_key_check`` then runs before the commit: a row left pointing at nothing
        rolls everything back (``UpgradeError``).
        """
        if not self.is_sqlite:
            async with self.engine.connect() as connection:
                await connection.run_sync(_run_upgrade, revision)
            return
        engine = create_async_engine(self.url, poolclass=NullPool, module=sqlite_driver.dbapi())
        _configure_sqlite(engine, foreign_keys=False)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(_run_upgrade, revision)
        finally:
            await engine.dispose()

    async def revisions(self) -> tuple[str | None, str]:
        """(the database's revision, None while it has none; the newest revision there is)."""
        async with self.engine.connect() as connection:
            current = await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
        return current, head_revision()

    async def close(self) -> None:
        await self.engine.dispose()


def insert_for(session: AsyncSession, model):
    """An ``INSERT`` into ``model``'s table in the session's dialect, which has ``on_conflict_do_…``."""
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    return insert(model.__table__)


def upsert(session: AsyncSession, model, row: dict, keys: tuple[str, ...]):
    """``INSERT … ON CONFLICT (keys) DO UPDATE`` the rest of ``row``: the row under that unique key,
    made or brought up to date in one statement."""
    return insert_for(session, model).values(row).on_conflict_do_update(
        index_elements=list(keys), set_={name: value for name, value in row.items() if name not in keys})


def insert_unless_there(session: AsyncSession, model):
    """``INSERT … ON CONFLICT DO NOTHING`` into ``model``'s table, in the session's dialect: a row
    whose unique key is taken already is skipped (the rowcount, or ``RETURNING``, says which went
    in). Give the rows to ``execute``, one dict or a list of them, not to ``values()``: a statement
    with its rows in ``values()`` is compiled again on every use (SQLAlchemy caches no multi-row
    VALUES), while this one is compiled once and sends a list of rows as one multi-row INSERT."""
    return insert_for(session, model).on_conflict_do_nothing()


async def unless_unavailable(work: Awaitable[T], what: str, log: logging.Logger) -> T | None:
    """A scheduled sweep's ``work``, or None, logged as "could not <what>", when the database
    cannot be reached now: the next sweep tries again. Any other error is raised."""
    try:
        return await work
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        log.warning("could not %s: the database is unavailable", what)
        return None


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means "the database cannot be reached now" (refused, gone, shutting down,
    timed out, locked) rather than a bug in a query."""
    if isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror, sa_exc.TimeoutError)):
        return True
    if isinstance(exc, OSError):  # a network failure, not a file that is missing or locked
        return exc.errno in _NETWORK_ERRNOS
    if isinstance(exc, sa_exc.DBAPIError):
        if isinstance(exc.orig, sqlite3.OperationalError):  # SQLite says "operational" of SQL mistakes too
            return any(outage in str(exc.orig).lower() for outage in _SQLITE_OUTAGES)
        cause = getattr(exc.orig, "__cause__", None)  # the driver's own error, under the adapter's
        return (exc.connection_invalidated or isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))
                or (cause is not None and is_unavailable(cause)))
    if type(exc).__module__.startswith("asyncpg"):
        import asyncpg

        return isinstance(exc, (asyncpg.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError,
                                asyncpg.InterfaceError, asyncpg.TooManyConnectionsError))
    return False


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def all_revisions() -> list[str]:
    """Every migration's revision, oldest first."""
    return [script.revision for script in reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))]


def _run_upgrade(sync_connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = sync_connection
    is_sqlite = sync_connection.dialect.name == "sqlite"
    if is_sqlite:  # take the write lock at BEGIN, not halfway through
        sync_connection.execution_options(**{_IMMEDIATE: True})
    # Begun here, the transaction is the migrations' own (alembic joins it rather than committing
    # after each migration, as it would on SQLite), so a failure anywhere undoes every one of them.
    with sync_connection.begin():
        start = MigrationContext.configure(sync_connection).get_current_revision()
        if revision == "head":
            revision = head_revision()
        try:
            command.upgrade(config, revision)
        except sa_exc.DBAPIError as exc:
            if is_unavailable(exc):
                raise
            raise UpgradeError(f"the upgrade from {start or 'an empty database'} to {revision} failed and was "
                               f"rolled back, the database is as it was: {exc.orig}") from exc
        if is_sqlite:
            _check_foreign_keys(sync_connection, start, revision)


def _check_foreign_keys(sync_connection, start: str | None, revision: str) -> None:
    broken: dict[tuple[str, str], int] = {}
    for table, _rowid, parent, _fk in sync_connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall():
        broken[table, parent] = broken.get((table, parent), 0) + 1
    if broken:
        which = ", ".join(f"{count} in {table} (pointing at {parent})"
                          for (table, parent), count in sorted(broken.items()))
        raise UpgradeError(f"the upgrade from {start or 'an empty database'} to {revision} was rolled back, the "
                           f"database is as it was: it would leave rows pointing at rows that are not there: {which}")


def _ensure_sqlite_folder(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: AsyncEngine, *, foreign_keys: bool = True) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Take transaction control away from the driver, so that BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def on_begin(connection):
        immediate = connection.get_execution_options().get(_IMMEDIATE)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
