"""Flask CLI commands (``flask --app app ...``)."""
from __future__ import annotations

import json
import sys
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

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
@click.option("--quiet", is_flag=True, help="Only problems, not the list of unverified facts.")
def knowledge_check(quiet: bool) -> None:
    """Validate every file in knowledge/ and list the facts the office still has to confirm."""
    from services import faq, knowledge, villages
    from services import clock, welfare
    problems = knowledge.check() + faq.check() + knowledge.missing_keys() + welfare.parameter_problems()
    from bot.knowledge_cli import edit_problems  # the dashboard's published edits (issue 16)
    problems += edit_problems()
    try:
        villages.village_names()
    except Exception as exc:  # a broken boundary file
        problems.append(f"places: {exc}")
    for p in problems:
        click.echo(f"PROBLEM {p}")
    if not quiet:
        click.echo("\nUnverified facts (the bot does not state these; it gives the office phone instead):")
        for where, title, what in knowledge.unverified_contacts() + faq.unverified_list():
            click.echo(f"- {where} ({title}): {what}")
        today = clock.today()
        for pid, name, what in welfare.unconfirmed_parameters(today):
            click.echo(f"- welfare/{pid}.yaml {name}: {what}")
    stale = welfare.stale_parameters(clock.today())
    if stale:
        click.echo("\nWelfare parameters past their confirmed period or verified over 13 months ago "
                   "(the bot says the year's figures are not confirmed and gives the office phone):")
        for pid, name, why in stale:
            click.echo(f"STALE welfare/{pid}.yaml {name}: {why}")
    if problems:
        sys.exit(1)
    click.echo(f"\nknowledge: ok ({len(faq.base().entries)} service entries)")


@click.command("welfare-screen")
@click.option("--facts", "facts_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="A YAML or JSON file of facts (see docs/welfare.md).")
@click.option("--as-of", "as_of", default=None, help="Screening date YYYY-MM-DD (default: today in Taipei).")
@click.option("--json", "as_json", is_flag=True, help="One JSON list with every programme.")
def welfare_screen_cmd(facts_path: str, as_of: str | None, as_json: bool) -> None:
    """Screen one household's facts against every welfare programme."""
    import datetime as dt
    import yaml
    from services import clock, welfare
    with open(facts_path, encoding="utf-8") as fh:
        facts = yaml.safe_load(fh) or {}
    try:
        day = dt.date.fromisoformat(as_of) if as_of else clock.today()
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--as-of")
    results = welfare.screen(facts.get("facts", facts), day)
    if as_json:
        click.echo(json.dumps([r.public() for r in results], ensure_ascii=False))
        return
    for r in results:
        amount = f" {r.amount}" if r.amount is not None else ""
        click.echo(f"{r.programme}: {r.outcome}{amount}")
        for reason in r.reasons:
            click.echo(f"    {reason}")


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


def _route_text(text: str):
    """One message through the webhook's router, for a resident with no cases: (summary, outcome)."""
    import time
    from handlers.flow import EmptyContext, Incoming
    from handlers.router import route
    inc = Incoming(kind="text", text=text, event_id="cli", user_id="U" + "0" * 32, chat_id="U" + "0" * 32)
    out = route(None, inc, EmptyContext(), time.time())
    meta = out.meta or {}
    reply = "\n".join(r.text for r in out.replies)
    if not reply and out.actions:
        # The answer is written by an action that reads or changes the database (a chief's
        # binding code, a check-in): `route` does not run it.
        reply = "(" + ", ".join(a.name for a in out.actions) + ")"
    return {"text": text, "intent": meta.get("intent"), "topic": meta.get("topic"),
            "confidence": meta.get("confidence"), "rule": out.rule, "reply": reply}, out


def understand(text: str) -> dict:
    """One message through the webhook's router: its label, topic, confidence and reply."""
    return _route_text(text)[0]


@click.command("route")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True)
def route_cmd(text: str, as_json: bool) -> None:
    """Show how the bot understands and answers one message."""
    result = understand(text)
    result.pop("text")
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        click.echo(f"{result['intent']} {result['topic'] or ''} ({result['confidence']})\n{result['reply']}")


UNSAFE_KINDS = ("screener", "no_119", "not_understood")
# The answers that say the bot did not understand: their first lines (「不太懂」, 「不太確定」).
NOT_UNDERSTOOD_KEYS = ("common.fallback", "group.fallback", "faq.unsure", "faq.unsure_with_guesses")


def _not_understood_lines() -> tuple[str, ...]:
    from services.knowledge import t
    return tuple(t(key).splitlines()[0] for key in NOT_UNDERSTOOD_KEYS)


def _report_labels() -> tuple[str, ...]:
    from services import kinds
    return kinds.report_labels()


def _unsafe(case: dict, want: list[str], got: dict, out) -> list[str]:
    """The unsafe outcomes of one answer (issue 13.4).

    - ``screener``: a line marked ``unsafe_if: ["screener"]`` (a death, a funeral, an inheritance)
      started the welfare screener (the conversation state is now the welfare flow);
    - ``no_119``: a line marked ``danger: true`` got a reply whose first phone number is not 119;
    - ``not_understood``: a report (an accepted label is a report label, ``unknown`` is not accepted)
      got ``unknown`` and the fallback's 「不太懂」 or the unsure answer's 「不太確定」 (the first line of a
      ``NOT_UNDERSTOOD_KEYS`` message; a safety answer that gives 119 under ``unknown`` is not counted).
    """
    from services.safety import first_phone
    checks = set(case.get("unsafe_if") or ())
    if case.get("danger"):
        checks.add("no_119")
    if set(want) & set(_report_labels()) and "unknown" not in want:
        checks.add("not_understood")
    found = []
    if "screener" in checks and (out.state or {}).get("flow") == "welfare":
        found.append("screener")
    if "no_119" in checks and first_phone(got["reply"]) != "119":
        found.append("no_119")
    if "not_understood" in checks and got["intent"] == "unknown" and any(w in got["reply"] for w in _not_understood_lines()):
        found.append("not_understood")
    return found


def evaluate(path: str):
    """Yield one result per utterance of a JSONL file, then the summary.

    A line: ``text``; ``intent`` (a label or a list of accepted labels); optional ``faq`` (accepted
    entry ids), ``mention`` (words the reply must contain), ``danger`` and ``unsafe_if`` (see
    ``_unsafe``). Blank lines and lines starting with ``#`` are skipped.

    The summary adds to intent and mention accuracy: the intent accuracy with the danger lines aside
    (``calm``: a danger line is judged by its 119, an ``unsafe`` outcome, whatever label it got), FAQ-answer accuracy (lines with ``faq`` ids,
    unless the bot chose another accepted label such as the welfare screener: the answer must be one
    of the ids), the confusion table (expected label -> got label -> count; the expected label is the
    one got when it was accepted, else the first accepted) and the unsafe outcomes by kind.
    """
    total = intents_ok = mention_total = mention_ok = faq_total = faq_ok = calm_total = calm_ok = 0
    confusion: dict[str, dict[str, int]] = {}
    unsafe = {k: 0 for k in UNSAFE_KINDS}
    for case in _cases(path):
        result = _score(case)
        total += 1
        intents_ok += result["ok"]
        if not case.get("danger"):
            calm_total += 1
            calm_ok += result["ok"]
        if "mention_ok" in result:
            mention_total += 1
            mention_ok += result["mention_ok"]
        expected = result["intent"] if result["ok"] else result["want"][0]
        row_confusion = confusion.setdefault(expected, {})
        row_confusion[str(result["intent"])] = row_confusion.get(str(result["intent"]), 0) + 1
        if "faq_ok" in result:
            faq_total += 1
            faq_ok += result["faq_ok"]
        for kind in result["unsafe"]:
            unsafe[kind] += 1
        yield result
    yield {"summary": True, "total": total, "intent_accuracy": round(intents_ok / total, 4) if total else 0.0,
           "calm_total": calm_total, "calm_accuracy": round(calm_ok / calm_total, 4) if calm_total else 0.0,
           "mentions": mention_total,
           "mention_accuracy": round(mention_ok / mention_total, 4) if mention_total else 1.0,
           "faq_total": faq_total, "faq_accuracy": round(faq_ok / faq_total, 4) if faq_total else 1.0,
           "unsafe": sum(unsafe.values()), "unsafe_by_kind": unsafe,
           "confusion": {w: dict(sorted(g.items(), key=lambda kv: -kv[1])) for w, g in sorted(confusion.items())}}


def _cases(path: str):
    """The utterances of a JSONL file (blank lines and ``#`` lines skipped)."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            yield json.loads(line)


def _score(case: dict[str, Any]) -> dict[str, Any]:
    """One utterance through the router, scored: what ``evaluate`` yields for it."""
    want = case["intent"] if isinstance(case["intent"], list) else [case["intent"]]
    got, out = _route_text(case["text"])
    ok = got["intent"] in want
    mentions = case.get("mention") or []
    mention_hit = all(m in got["reply"] for m in mentions)
    extra = {}
    faq_ids = case.get("faq") or []
    if faq_ids and not (ok and got["intent"] != "faq"):
        extra["faq_ok"] = got["intent"] == "faq" and got["topic"] in faq_ids
    bad = _unsafe(case, want, got, out)
    return {**got, "want": want, "ok": ok, **({"mention_ok": mention_hit} if mentions else {}),
            **({"want_faq": faq_ids} if faq_ids else {}), **extra, "unsafe": bad}


def confusion_lines(confusion: dict[str, dict[str, int]], limit: int | None = None) -> list[str]:
    """The off-diagonal cells of a confusion table, largest first: 「  want -> got: n」."""
    cells = sorted(((n, w, g) for w, row in confusion.items() for g, n in row.items() if g != w),
                   key=lambda c: (-c[0], c[1], c[2]))
    return [f"  {w} -> {g}: {n}" for n, w, g in cells[:limit]]


@click.command("nlu-eval")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per utterance, then a summary line.")
@click.option("--totals", is_flag=True, help="Only the summary (a held-out set: no line is shown).")
def nlu_eval_cmd(path: str, as_json: bool, totals: bool) -> None:
    """Accuracy of routing and of FAQ answers, the confusion table and unsafe outcomes on a JSONL file.
    With --totals only the summary's lines are printed (for a held-out set: no line is read)."""
    for row in evaluate(path):
        if totals and not row.get("summary"):
            continue
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        elif row.get("summary"):
            click.echo(f"intent accuracy {row['intent_accuracy']:.1%} on {row['total']}; "
                       f"mention accuracy {row['mention_accuracy']:.1%} on {row['mentions']}")
            if row["calm_total"] != row["total"]:
                click.echo(f"intent accuracy with the danger lines aside {row['calm_accuracy']:.1%} on {row['calm_total']}")
            click.echo(f"faq-answer accuracy {row['faq_accuracy']:.1%} on {row['faq_total']}")
            by_kind = ", ".join(f"{k} {n}" for k, n in row["unsafe_by_kind"].items())
            click.echo(f"unsafe outcomes {row['unsafe']} ({by_kind})")
            if totals:
                continue    # the confusion table names no line, but it is read for tuning: left out
            lines = confusion_lines(row["confusion"])
            click.echo("confusion (expected -> got: count)" + ("" if lines else ": none"))
            for text in lines:
                click.echo(text)
        else:
            for kind in row["unsafe"]:
                click.echo(f"  [unsafe:{kind}] want {row['want']} got {row['intent']}/{row['topic']}: {row['text']}")
            if not row["ok"] or row.get("mention_ok") is False:
                why = "intent" if not row["ok"] else "mention"
                click.echo(f"  [{why}] want {row['want']} got {row['intent']}/{row['topic']}: {row['text']}")
            elif row.get("faq_ok") is False:
                click.echo(f"  [faq] want {row['want_faq']} got {row['intent']}/{row['topic']}: {row['text']}")


@click.command("serve-local")
@click.option("--host", default="127.0.0.1")
def serve_local_cmd(host: str) -> None:
    """Local mode: migrate, start the embedded worker and serve web + simulator."""
    app = current_app._get_current_object()
    if not app.config["LOCAL_MODE"]:
        raise click.UsageError("serve-local runs local mode, which REDIS_URL or LOCAL_MODE=0 turned off; "
                               "unset them, or set LOCAL_MODE=1 to run it with that Redis")
    from services.migrate import upgrade
    from pathlib import Path
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    upgrade(url)
    from services import staff
    with get_services(app).db.session() as s:
        first_admin = None
        if staff.count(s) == 0:
            first_admin = staff.create(s, "admin", "admin", "admin")[1]
    from bot import worker
    worker.start_embedded(app)
    port = app.config["PORT"]
    click.echo("")
    if "simulator.index" in app.view_functions:
        click.echo(f"  Simulator:  http://{host}:{port}/simulator")
    else:
        click.echo("  Simulator:  off (real LINE credentials are set; it signs only with its own secret)")
    click.echo(f"  Webhook:    http://{host}:{port}/callback")
    click.echo(f"  Health:     http://{host}:{port}/readyz")
    click.echo(f"  Dashboard:  http://{host}:{port}/staff/")
    if first_admin:
        click.echo(f"  First admin account: admin / {first_admin}   (shown once; change it after logging in)")
    click.echo("")
    from werkzeug.serving import run_simple
    # Threaded: the embedded worker calls the simulator's LINE endpoints on this same server.
    run_simple(host, port, app, threaded=True, use_reloader=False)


@click.command("create-staff")
@click.option("--username", required=True)
@click.option("--name", "display_name", default="", help="The name shown in the dashboard.")
@click.option("--role", type=click.Choice(["admin", "section", "eoc"]), required=True)
@click.option("--section", default=None, help="For section staff: one of knowledge/sections.yaml")
def create_staff_cmd(username: str, display_name: str, role: str, section: str | None) -> None:
    """Create a staff account and print its one-time password (change it at first login)."""
    from services import staff
    svc = get_services()
    try:
        with svc.db.session() as s:
            _member, password = staff.create(s, username, display_name or username, role, section)
            staff.audit(s, None, "staff", detail=f"created {username} ({role})")
    except staff.StaffError as exc:
        raise click.UsageError(f"cannot create the account: {exc}")
    click.echo(f"created {username}; one-time password: {password}")


@click.command("digest")
@click.option("--send", is_flag=True, help="Also push it to STAFF_GROUP_ID when that is set.")
def digest_cmd(send: bool) -> None:
    """Print (and optionally send) today's overdue cases for each section."""
    from bot import jobs
    for section_text in jobs.build_digest(get_services()):
        click.echo(section_text + "\n")
    if send:
        click.echo(f"sent: {jobs.send_digest()}")


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
@click.option("--name", default="main", type=click.Choice(["main", "disaster"]),
              help="Which menu: main, or disaster (the disaster mode's menu)")
def richmenu_render(font: str, name: str) -> None:
    """Redraw knowledge/richmenu/<name>.png from <name>.yaml."""
    from services import richmenu
    path = richmenu.image_path(name)
    path.write_bytes(richmenu.render(font, name))
    click.echo(f"wrote {path}")


@click.command("chief-code")
@with_appcontext
@click.option("--village", required=True, help="The village, as named in knowledge/places/villages.yaml")
@click.option("--role", default="chief", help="chief (village chief) or officer (village officer); the zh-TW words work too")
@click.option("--term-end", default=None, help="YYYY-MM-DD; default: the end of the chiefs' term in force")
def chief_code_cmd(village: str, role: str, term_end: str | None) -> None:
    """Issue a one-time code that binds a village chief's LINE account (they send 「綁定 CODE」)."""
    import datetime as dt
    from services import villages
    from services.disaster import chiefs
    roles = chiefs.roles()
    role = {label: key for key, label in roles.items()}.get(role.strip(), role.strip())
    if village.strip() not in villages.village_names():
        raise click.UsageError(f"unknown village {village!r}; one of: {', '.join(villages.village_names())}")
    if role not in roles:
        raise click.UsageError(f"unknown role {role!r}; one of: " + ", ".join(f"{k} ({v})" for k, v in roles.items()))
    try:
        end = dt.date.fromisoformat(term_end) if term_end else None
    except ValueError:
        raise click.UsageError("--term-end must be YYYY-MM-DD")
    svc = get_services()
    try:
        with svc.db.session() as s:
            issued = chiefs.issue(s, svc.config["SECRET_KEY"], village.strip(), role, None, term_end=end)
    except chiefs.ChiefError as exc:
        raise click.UsageError(f"cannot issue the code: {exc}")
    from services.clock import TAIPEI
    expires = issued.expires_at.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M")
    click.echo(f"code: {issued.code}")
    click.echo(f"for: {issued.village} {roles[issued.role]}; expires {expires} (Asia/Taipei); works once")


NO_SCHEMA = ("the database has no tables yet: run `flask --app app db upgrade` first "
             "(`make run` does it for you)")


def _missing_table(exc: Exception) -> bool:
    """SQLite's "no such table", PostgreSQL's undefined_table (42P01)."""
    orig = getattr(exc, "orig", None)
    return "no such table" in str(orig) or getattr(orig, "sqlstate", None) == "42P01"


def _schema_needed(cmd: click.Command) -> click.Command:
    """A command that reads or writes the database says how to create it, not a traceback."""
    inner = cmd.callback
    if inner is None or getattr(inner, "_schema_needed", False):
        return cmd

    def callback(*args, **kwargs):
        from sqlalchemy.exc import OperationalError, ProgrammingError
        try:
            return inner(*args, **kwargs)
        except (OperationalError, ProgrammingError) as exc:
            if _missing_table(exc):
                raise click.ClickException(NO_SCHEMA) from None
            raise

    callback._schema_needed = True  # type: ignore[attr-defined]
    callback.__wrapped__ = inner  # type: ignore[attr-defined]
    cmd.callback = callback
    return cmd


def init_app(app: Flask) -> None:
    from bot import knowledge_cli as _knowledge_edits  # noqa: F401  (adds `knowledge export`, issue 16)
    for cmd in (chief_code_cmd, create_staff_cmd, digest_cmd, sweep_cmd, route_cmd, welfare_screen_cmd):
        _schema_needed(cmd)
    for cmd in (db_cli, knowledge_cli, richmenu_cli, chief_code_cmd, create_staff_cmd, digest_cmd, worker_cmd, sweep_cmd, route_cmd, nlu_eval_cmd, serve_local_cmd,
                welfare_screen_cmd):
        app.cli.add_command(cmd)
    from bot import backup, doctor
    for cmd in (doctor.doctor_cmd, backup.backup_cmd, backup.restore_cmd):
        app.cli.add_command(cmd)
