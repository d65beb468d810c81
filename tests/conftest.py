"""Fixtures: a real database (SQLite, and PostgreSQL where the machine runs it), a real
Redis where available, a fake LINE server reached through the real SDK, and a resident
who chats with the bot.

Under ``CI=true`` a missing PostgreSQL or Redis is a failure, not a skip.
"""
from __future__ import annotations

import os
import shutil
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot import create_app  # noqa: E402
from bot.dev.fakeline import FakeLineServer, FakeLineStore  # noqa: E402
from services.migrate import upgrade  # noqa: E402
from tests.helpers import SECRET, TOKEN, Resident  # noqa: E402
from tests.staff_helpers import CIVIL, ROAD, SOCIAL, add_photo, make_case, make_staff  # noqa: E402

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _missing(what: str, why: str):
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true but unavailable: {why}")
    pytest.skip(f"{what} unavailable: {why}")


def _redis_available() -> str | None:
    try:
        import redis
        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1).ping()
        return None
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__


@pytest.fixture(scope="session")
def pg_database():
    """One throw-away PostgreSQL database for the session, migrated once."""
    try:
        import psycopg
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=2)
    except Exception as exc:  # noqa: BLE001
        _missing("PostgreSQL", type(exc).__name__)
    name = f"zuozhen_test_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
    upgrade(url)
    yield url
    from sqlalchemy import create_engine
    create_engine(url).dispose()
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def _truncate(url: str) -> None:
    from sqlalchemy import create_engine, text
    from services.db import Base
    import services.schema  # noqa: F401  (every table)
    engine = create_engine(url)
    with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path, sqlite_template):
    if request.param == "sqlite":
        path = tmp_path / "bot.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    _truncate(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path, sqlite_template):
    path = tmp_path / "bot.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def redis_url():
    """The real Redis (database 15, emptied) where the machine has one; else a stand-in."""
    why = _redis_available()
    if why is None:
        import redis
        redis.Redis.from_url(REDIS_TEST_URL).flushdb()
        return REDIS_TEST_URL
    if IN_CI:
        pytest.fail(f"Redis is required under CI=true but unavailable: {why}")
    return "fakeredis://"


@pytest.fixture
def real_redis_url():
    why = _redis_available()
    if why is not None:
        _missing("Redis", why)
    import redis
    redis.Redis.from_url(REDIS_TEST_URL).flushdb()
    return REDIS_TEST_URL


@pytest.fixture
def fake_line():
    with FakeLineServer(FakeLineStore()) as server:
        yield server


def make_app(db_url: str, redis_url: str, fake_line: FakeLineServer, tmp_path: Path, **extra):
    cfg = {
        "LOCAL_MODE": False, "EMBEDDED_WORKER": False, "TESTING": True,
        "LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
        "LINE_API_BASE_URL": fake_line.base_url, "DATABASE_URL": db_url, "REDIS_URL": redis_url,
        "MEDIA_DIR": str(tmp_path / "media"), "SECRET_KEY": "test-secret-key",
    }
    cfg.update(extra)
    return create_app(cfg)


@pytest.fixture
def app(db_url, redis_url, fake_line, tmp_path):
    app = make_app(db_url, redis_url, fake_line, tmp_path)
    yield app
    from bot.extensions import get_services
    get_services(app).close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def resident(app, fake_line):
    return Resident(app, fake_line.store)


@pytest.fixture
def office(app):
    """Five colleagues and one case of each kind (the road case has a photo)."""
    ids = {
        "admin": make_staff(app, "admin", "admin"),
        "road": make_staff(app, "road", "section", ROAD),
        "social": make_staff(app, "social", "section", SOCIAL),
        "civil": make_staff(app, "civil", "section", CIVIL),
        "eoc": make_staff(app, "eoc", "eoc"),
    }
    cases = {
        "road": make_case(app, "road", "pothole"),
        "welfare": make_case(app, "welfare", None, lat=None, lng=None, description="想問老人津貼",
                             place_text=None, phone="0987654321"),
        "disaster": make_case(app, "disaster", None, lat=23.03, lng=120.42, description="土石流堵住道路",
                              phone="0911222333"),
        "dengue": make_case(app, "dengue", None, lat=23.04, lng=120.41, description="空地積水有孑孓",
                            phone="0933444555"),
    }
    photo_id, original, clean = add_photo(app, cases["road"])
    return {"staff": ids, "cases": cases, "photo": photo_id, "original": original, "clean": clean}

