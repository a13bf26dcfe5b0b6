"""The schema as migrated equals the models, on both databases, and migrating twice is harmless."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from store.models import Base


async def test_migrations_build_exactly_the_models(store):
    await store.upgrade()  # already at head: a no-op

    def diff(connection):
        return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)

    async with store.engine.connect() as connection:
        assert await connection.run_sync(diff) == []
