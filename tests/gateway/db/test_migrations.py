"""Migrations produce exactly the models' schema, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from gateway.db.session import make_engine
from gateway.migrations.tables import metadata


def test_migrations_match_models(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    engine.dispose()
    assert diff == []


def test_downgrade_and_upgrade_again(any_db_url: str) -> None:
    from sqlalchemy import inspect

    from gateway.db.migrate import downgrade, upgrade

    downgrade(any_db_url, "base")
    engine = make_engine(any_db_url)
    assert "users" not in inspect(engine).get_table_names()
    engine.dispose()
    upgrade(any_db_url)
    engine = make_engine(any_db_url)
    assert "users" in inspect(engine).get_table_names()
    engine.dispose()
