"""Flask CLI commands (``flask --app app ...``)."""
from __future__ import annotations

import json
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from bot.extensions import get_services

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")
knowledge_cli = AppGroup("knowledge", help="The data in knowledge/.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from services.migrate import upgrade
    url = current_app.config["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        from pathlib import Path
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    upgrade(url, revision)
    click.echo("database is at revision " + revision)


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Write a new migration from the models (for developers)."""
    from services.migrate import revision
    revision(current_app.config["DATABASE_URL"], message)


@knowledge_cli.command("check")
def knowledge_check() -> None:
    """Check every file in knowledge/; exit 1 on a problem."""
    from services import knowledge, villages
    problems = knowledge.check()
    try:
        villages.village_names()
    except Exception as exc:  # a broken boundary file
        problems.append(f"places: {exc}")
    for p in problems:
        click.echo(p)
    if problems:
        sys.exit(1)
    click.echo("knowledge: ok")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker_cmd(burst: bool) -> None:
    """Run a queue worker (with the retry scheduler and the sweeper)."""
    from bot import worker
    worker.run(current_app._get_current_object(), burst=burst)


@click.command("sweep")
def sweep_cmd() -> None:
    """Re-enqueue stored events, messages and photos that were never finished."""
    from bot import sweeper
    click.echo(json.dumps(sweeper.sweep(get_services(), older_than_s=0)))


@click.command("route")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True)
def route_cmd(text: str, as_json: bool) -> None:
    """Show the routing label a message gets."""
    from services.nlu import classify
    intent = classify(text)
    out = {"text": text, "intent": intent.label, "matched": intent.matched, "ref": intent.ref}
    click.echo(json.dumps(out, ensure_ascii=False) if as_json else intent.label)


@click.command("nlu-eval")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def nlu_eval_cmd(path: str, as_json: bool) -> None:
    """Accuracy of the router on a JSONL file of {"text", "intent"} lines."""
    from services.nlu import classify
    total = correct = 0
    misses = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            case = json.loads(line)
            want = case["intent"] if isinstance(case["intent"], list) else [case["intent"]]
            got = classify(case["text"]).label
            total += 1
            if got in want:
                correct += 1
            else:
                misses.append({"text": case["text"], "want": want, "got": got})
    result = {"total": total, "correct": correct, "accuracy": round(correct / total, 3) if total else 0.0,
              "misses": misses}
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        click.echo(f"{correct}/{total} correct ({result['accuracy']:.1%})")
        for m in misses:
            click.echo(f"  want {m['want']} got {m['got']}: {m['text']}")


@click.command("serve-local")
@click.option("--host", default="127.0.0.1")
def serve_local_cmd(host: str) -> None:
    """Local mode: migrate, start the embedded worker and serve web + simulator."""
    app = current_app._get_current_object()
    if not app.config["LOCAL_MODE"]:
        raise click.UsageError("serve-local is for local mode (REDIS_URL unset)")
    from services.migrate import upgrade
    from pathlib import Path
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    upgrade(url)
    from bot import worker
    worker.start_embedded(app)
    port = app.config["PORT"]
    click.echo("")
    click.echo(f"  Simulator:  http://{host}:{port}/simulator")
    click.echo(f"  Webhook:    http://{host}:{port}/callback")
    click.echo(f"  Health:     http://{host}:{port}/readyz")
    click.echo("")
    from werkzeug.serving import run_simple
    # Threaded: the embedded worker calls the simulator's LINE endpoints on this same server.
    run_simple(host, port, app, threaded=True, use_reloader=False)


richmenu_cli = AppGroup("richmenu", help="The rich menu under the chat (knowledge/richmenu/).")


@richmenu_cli.command("deploy")
def richmenu_deploy() -> None:
    """Create the rich menu in LINE with its image and make it the default for everyone."""
    from services import richmenu
    from services.line import deploy_rich_menu
    image = richmenu.IMAGE.read_bytes()
    rich_menu_id = deploy_rich_menu(get_services().line, richmenu.request(), image)
    click.echo(f"rich menu {rich_menu_id} is now the default")


@richmenu_cli.command("render")
@click.option("--font", required=True, type=click.Path(exists=True, dir_okay=False),
              help="A font with Traditional Chinese, e.g. NotoSansCJK-Bold.ttc")
def richmenu_render(font: str) -> None:
    """Redraw knowledge/richmenu/main.png from main.yaml."""
    from services import richmenu
    richmenu.IMAGE.write_bytes(richmenu.render(font))
    click.echo(f"wrote {richmenu.IMAGE}")


def init_app(app: Flask) -> None:
    for cmd in (db_cli, knowledge_cli, richmenu_cli, worker_cmd, sweep_cmd, route_cmd, nlu_eval_cmd, serve_local_cmd):
        app.cli.add_command(cmd)
