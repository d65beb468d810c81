"""``flask --app app backup --to DIR`` and ``flask --app app restore --from DIR``.

A backup is a folder (mode 0700, files 0600: it holds personal data):

- ``database.dump``: ``pg_dump --format=custom`` of PostgreSQL (one consistent snapshot), or
  ``database.sqlite3``: SQLite's online backup API (consistent while the bot runs);
- ``media/``: a copy of ``MEDIA_DIR``, taken after the database, so every photo the dump knows
  is there (a photo stored meanwhile is an extra file, harmless);
- ``manifest.json``, written last: when, the database's dialect and migration, and the size and
  SHA-256 of every file. A folder without it is an unfinished backup.

``restore`` checks every checksum before it touches anything, and restores only into an empty
database (no tables) and an empty ``MEDIA_DIR``, so it can never mix two states or overwrite one.
"""
from __future__ import annotations

import datetime as dt
import glob
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

MANIFEST = "manifest.json"
FORMAT = 1
PG_FILE, SQLITE_FILE = "database.dump", "database.sqlite3"


class BackupError(click.ClickException):
    """Something that stops a backup or a restore; the message says what to do."""


def pg_tool(name: str) -> str:
    """``pg_dump``/``pg_restore``: on PATH, else the newest of Debian's postgresql-client."""
    found = shutil.which(name) or (sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [None])[-1]
    if not found:
        raise BackupError(f"{name} not found: install PostgreSQL's client tools (apt-get install postgresql-client)")
    return found


def pg_env(url: str) -> dict[str, str]:
    """libpq's variables for a SQLAlchemy URL: the password never appears on a command line."""
    u = make_url(url)
    env = dict(os.environ)
    for var, value in (("PGHOST", u.host), ("PGPORT", u.port), ("PGUSER", u.username),
                       ("PGPASSWORD", u.password), ("PGDATABASE", u.database),
                       ("PGSSLMODE", u.query.get("sslmode"))):
        if value:
            env[var] = str(value)
    return env


def sqlite_path(url: str) -> Path:
    return Path(make_url(url).database or "")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed: {done.stderr.strip()[-500:]}")


def dump_database(url: str, target: Path) -> str:
    """Write the database into ``target``; returns the file name."""
    if make_url(url).get_backend_name() == "postgresql":
        _run([pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
              "--file", str(target / PG_FILE)], pg_env(url))
        return PG_FILE
    src = sqlite3.connect(sqlite_path(url))
    dst = sqlite3.connect(target / SQLITE_FILE)
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()
    return SQLITE_FILE


def _revision(url: str) -> list[str]:
    from alembic.runtime.migration import MigrationContext
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".tmp"))


def backup(url: str, media_dir: Path, target: Path) -> dict:
    """Make a backup in ``target`` (which must not exist or be empty); returns the manifest."""
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty; back up into a new folder (e.g. one named by the date)")
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(target, 0o700)
    old_umask = os.umask(0o077)
    try:
        db_file = dump_database(url, target)
        if media_dir.is_dir():
            shutil.copytree(media_dir, target / "media", ignore=shutil.ignore_patterns("*.tmp", ".doctor-*"),
                            dirs_exist_ok=True)
    finally:
        os.umask(old_umask)
    files = {str(p.relative_to(target)): {"sha256": sha256(p), "size": p.stat().st_size}
             for p in _files(target)}
    manifest = {"format": FORMAT, "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "database": {"dialect": make_url(url).get_backend_name(), "file": db_file,
                             "revision": _revision(url)},
                "media_files": sum(1 for name in files if name.startswith("media/")), "files": files}
    manifest_path = target / MANIFEST
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    os.chmod(manifest_path, 0o600)
    return manifest


def verify(source: Path) -> dict:
    """The manifest, once every file it lists is present with its size and checksum."""
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{source} has no {MANIFEST}: not a backup, or one that did not finish")
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    bad = []
    for name, want in manifest["files"].items():
        path = (source / name).resolve()
        if source.resolve() not in path.parents:
            raise BackupError(f"the manifest names a file outside the backup: {name}")
        if not path.is_file():
            bad.append(f"{name} is missing")
        elif path.stat().st_size != want["size"] or sha256(path) != want["sha256"]:
            bad.append(f"{name} does not match its checksum")
    if bad:
        raise BackupError("the backup is damaged, nothing was restored: " + "; ".join(bad[:10]))
    return manifest


def _tables(url: str) -> list[str]:
    if make_url(url).get_backend_name() == "sqlite" and not sqlite_path(url).exists():
        return []  # a new file: do not create it just to look
    engine = create_engine(url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _require_empty(url: str, media_dir: Path) -> None:
    tables = _tables(url)
    if tables:
        raise BackupError(f"the database is not empty ({len(tables)} tables); restore only into a new, empty "
                          "database (createdb), then point DATABASE_URL at it")
    if media_dir.is_dir() and any(media_dir.iterdir()):
        raise BackupError(f"MEDIA_DIR {media_dir} is not empty; restore into an empty folder")


def load_database(url: str, source: Path, manifest: dict) -> None:
    dialect = make_url(url).get_backend_name()
    if dialect != manifest["database"]["dialect"]:
        raise BackupError(f"this backup is of a {manifest['database']['dialect']} database; DATABASE_URL is "
                          f"{dialect}. Restore into the same kind of database")
    if dialect == "postgresql":
        _run([pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
              "--dbname", make_url(url).database, str(source / PG_FILE)], pg_env(url))
        return
    path = sqlite_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source / SQLITE_FILE)
    dst = sqlite3.connect(path)
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()
    os.chmod(path, 0o600)


def _require_known_revision(url: str, manifest: dict) -> None:
    """A backup made by a newer version has migrations this code does not know: refuse it."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError
    from services.migrate import alembic_config
    script = ScriptDirectory.from_config(alembic_config(url))
    for rev in manifest["database"].get("revision") or []:
        try:
            script.get_revision(rev)
        except CommandError:
            raise BackupError(f"this backup is at migration {rev}, which this version of the bot does not "
                              "know: restore it with the version that made it (or a newer one)")


def restore(url: str, media_dir: Path, source: Path) -> dict:
    manifest = verify(source)
    _require_known_revision(url, manifest)
    _require_empty(url, media_dir)
    load_database(url, source, manifest)
    if (source / "media").is_dir():
        media_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source / "media", media_dir, dirs_exist_ok=True)
        os.chmod(media_dir, 0o700)
    return manifest


@click.command("backup")
@click.option("--to", "target", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="A new or empty folder, e.g. /var/backups/zuozhen/2026-12-05")
@with_appcontext
def backup_cmd(target: Path) -> None:
    """Back up the database and the photos with a manifest of checksums."""
    cfg = current_app.config
    manifest = backup(cfg["DATABASE_URL"], Path(cfg["MEDIA_DIR"]), target)
    click.echo(f"backup written to {target}: {manifest['database']['dialect']} database at "
               f"{', '.join(manifest['database']['revision']) or '(no migration)'}, {manifest['media_files']} media files")


@click.command("restore")
@click.option("--from", "source", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A folder written by `backup --to`")
@with_appcontext
def restore_cmd(source: Path) -> None:
    """Restore a backup into an empty database and an empty MEDIA_DIR (checksums first)."""
    cfg = current_app.config
    manifest = restore(cfg["DATABASE_URL"], Path(cfg["MEDIA_DIR"]), source)
    click.echo(f"restored the backup of {manifest['created_at']} ({manifest['media_files']} media files); "
               "run `flask --app app db upgrade` if this version has newer migrations, then `doctor`")
