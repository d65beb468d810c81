"""``flask --app app knowledge export`` and the database half of ``knowledge check`` (issue 16:
FAQ edits made in the dashboard live in the database; the YAML of knowledge/faq/ is the seed)."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app

from bot.cli import knowledge_cli


def edit_problems() -> list[str]:
    """Problems of the published dashboard edits; none when there is no database or table yet."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.extensions import get_services
    from services import knowledge_edits
    try:
        with get_services(current_app).db.session() as s:
            return knowledge_edits.check_published(s)
    except (SQLAlchemyError, KeyError, RuntimeError):
        click.echo("(dashboard edits not checked: no database with the knowledge tables)")
        return []


@knowledge_cli.command("export")
@click.option("--to", "directory", default="faq-export", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the YAML files (use knowledge/faq to overwrite the seed, then review the diff).")
def knowledge_export(directory: str) -> None:
    """Write the FAQ with the edits published in the dashboard as YAML files."""
    from bot.extensions import get_services
    from services import knowledge_edits
    with get_services(current_app).db.session() as s:
        written = knowledge_edits.export(s, Path(directory))
    if not written:
        click.echo("no published dashboard edits: knowledge/faq is up to date")
        return
    for path in written:
        click.echo(f"wrote {path}")
