"""Apply Alembic migrations programmatically, so no alembic.ini has to exist on a deployed node."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

SCRIPT_LOCATION = Path(__file__).resolve().parent


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema behind `engine` to `revision` (idempotent)."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        if connection.dialect.name in {"mysql", "mariadb"}:
            # Names must compare exactly, as on SQLite and PostgreSQL: MariaDB's default
            # collation folds case and accents ("Alice" would log in as "alice", and two
            # projects "web" and "Web" would collide). Tables created from now on inherit it.
            connection.execute(text("ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def autogenerate(engine: Engine, message: str) -> None:
    """Developer helper: write a new revision from the difference between tables and schema."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
