"""The local Dagster instance's SQLite databases, written without an fsync per event.

Dagster's SQLite storage (the instance of `dagster.yaml`) opens a connection for every event it stores and commits
it, in WAL mode with SQLite's default `synchronous=FULL`: every commit waits for the disk. A sample day stores ~600
such commits; on this project's machines each wait is ~5-15 ms, seconds of a run that computes for less than one.
With WAL, `synchronous=NORMAL` is SQLite's documented safe setting: the database is never corrupted, and a crash of
the process loses nothing; only a power loss or OS crash may roll back the newest events. The data itself does not
live there (the archive, published days and warehouse are written atomically by this project), and a team's shared
instance is PostgreSQL (`deploy/postgres/`), which this leaves alone.
"""

import sqlite3

import sqlalchemy as sa

_SYNCHRONOUS = "PRAGMA synchronous=NORMAL"


def _set_synchronous(dbapi_connection: object, _connection_record: object) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute(_SYNCHRONOUS)


def commit_without_fsync_per_event() -> None:
    """From now on, every SQLite connection this process opens through SQLAlchemy (Dagster's storage) uses
    `synchronous=NORMAL`. Called where the definitions load, so it holds in every process that runs steps: the
    CLI's run, the run worker the UI or daemon starts, and the executor's step processes."""
    if not sa.event.contains(sa.engine.Engine, "connect", _set_synchronous):
        sa.event.listen(sa.engine.Engine, "connect", _set_synchronous)
