"""`backup --to DIR` and `restore --from DIR`: cases, photos and staff accounts come back the same."""
from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import create_engine, select

import services.models  # noqa: F401 - every table in Base.metadata
import services.schema  # noqa: F401 - the domain packages' tables too
from bot.extensions import get_services
from services.db import Base
from tests.conftest import PG_ADMIN_URL, make_app
from tests.staff_helpers import add_photo, make_case, make_staff


@pytest.fixture
def fresh_url(db_url, tmp_path):
    """A new, empty database of the same kind as ``db_url``."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'bot.db'}"
        return
    import psycopg
    admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
    name = f"zuozhen_restore_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
    yield url
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def content(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                    for t in Base.metadata.sorted_tables}
    finally:
        engine.dispose()


def media_files(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_backup_and_restore_into_a_fresh_database(app, db_url, fresh_url, redis_url, fake_line, tmp_path):
    make_staff(app, "wang", "section", "農業及建設課")
    make_staff(app, "lin", "admin")
    ref = make_case(app)
    add_photo(app, ref)
    add_photo(app, make_case(app, kind="dengue", category="container"))
    before = content(db_url)
    assert before["staff"] and before["submission"] and before["attachment"]

    result = run(app, "backup", "--to", str(tmp_path / "backup"))
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["media_files"] == len(media_files(tmp_path / "media")) >= 2  # originals and clean copies
    assert (tmp_path / "backup").stat().st_mode & 0o077 == 0

    restored = make_app(fresh_url, redis_url, fake_line, tmp_path, MEDIA_DIR=str(tmp_path / "media2"))
    try:
        result = run(restored, "restore", "--from", str(tmp_path / "backup"))
        assert result.exit_code == 0, result.output
        assert content(fresh_url) == before
        assert media_files(tmp_path / "media2") == media_files(tmp_path / "media")
        again = run(restored, "restore", "--from", str(tmp_path / "backup"))
        assert again.exit_code != 0 and "not empty" in again.output
    finally:
        get_services(restored).close()


def test_a_damaged_backup_restores_nothing(app, fresh_url, redis_url, fake_line, tmp_path):
    add_photo(app, make_case(app))
    assert run(app, "backup", "--to", str(tmp_path / "b")).exit_code == 0
    photo = next(p for p in (tmp_path / "b" / "media").rglob("*") if p.is_file())
    photo.write_bytes(photo.read_bytes() + b"x")
    restored = make_app(fresh_url, redis_url, fake_line, tmp_path, MEDIA_DIR=str(tmp_path / "media2"))
    try:
        result = run(restored, "restore", "--from", str(tmp_path / "b"))
    finally:
        get_services(restored).close()
    assert result.exit_code != 0 and "does not match its checksum" in result.output
    assert not (tmp_path / "media2").exists() or not any((tmp_path / "media2").iterdir())


def test_backup_refuses_a_folder_in_use(app, tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "other.txt").write_text("x")
    result = run(app, "backup", "--to", str(tmp_path / "used"))
    assert result.exit_code != 0 and "not empty" in result.output


def test_an_unfinished_backup_is_not_a_backup(app, tmp_path):
    (tmp_path / "half").mkdir()
    result = run(app, "restore", "--from", str(tmp_path / "half"))
    assert result.exit_code != 0 and "did not finish" in result.output


def test_a_backup_from_a_newer_version_is_refused(app, fresh_url, redis_url, fake_line, tmp_path):
    assert run(app, "backup", "--to", str(tmp_path / "b")).exit_code == 0
    manifest_path = tmp_path / "b" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["database"]["revision"] = ["9999_from_the_future"]
    manifest_path.write_text(json.dumps(manifest))
    restored = make_app(fresh_url, redis_url, fake_line, tmp_path, MEDIA_DIR=str(tmp_path / "media2"))
    try:
        result = run(restored, "restore", "--from", str(tmp_path / "b"))
    finally:
        get_services(restored).close()
    assert result.exit_code != 0 and "does not know" in result.output
