"""Alembic environment. Migrations run through ``Store.upgrade()`` (``rural-bot db upgrade``),
which hands over an open connection in a transaction of its own; offline SQL generation is not
used."""

from alembic import context

from store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `rural-bot db upgrade`")
if connection.dialect.name == "sqlite" and connection.exec_driver_sql("PRAGMA foreign_keys").scalar():
    # batch_alter_table rebuilds a table and drops the old copy: with foreign keys on, that drop
    # deletes or refuses the rows that point at it. Store.upgrade opens the connection with them off.
    raise RuntimeError("on SQLite, migrations must run with foreign keys off: use Store.upgrade()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    transactional_ddl=True,  # on SQLite too, where alembic assumes otherwise: Store.upgrade's one transaction
)
with context.begin_transaction():
    context.run_migrations()
