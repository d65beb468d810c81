"""SQLAlchemy engine and sessions, built from a URL; no Flask."""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    pass


def utcnow() -> dt.datetime:
    """Now, as an aware UTC time (what every table stores)."""
    return dt.datetime.now(dt.timezone.utc)


def make_engine(url: str) -> Engine:
    """The app's engine. ``hide_parameters``: an error's message and a traceback in the logs never
    show a query's values (a resident's text, phone number or place)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    # No pre-ping: it costs a round trip on every checkout (every webhook request). A connection
    # that died is invalidated on its first error (the webhook answers 500 and LINE redelivers;
    # a job retries), and connections are recycled every 5 minutes.
    return create_engine(url, pool_size=10, max_overflow=10, pool_recycle=300, pool_use_lifo=True,
                         hide_parameters=True)


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.Session = sessionmaker(self.engine, expire_on_commit=False)
        # For single statements that commit by themselves (the webhook's insert).
        self.autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: commit on success, roll back on error."""
        with self.Session() as s:
            with s.begin():
                yield s

    def dispose(self) -> None:
        self.engine.dispose()
