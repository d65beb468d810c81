"""RQ entry points. Thin: they take ids, find the app's services and call the real work.

The worker binds its app with ``bind(app)``; a worker process started without one builds
the app once, lazily.
"""
from __future__ import annotations

import logging

from bot import dispatch, logs, sweeper
from bot.extensions import Services, get_services
from services import photos

log = logging.getLogger(__name__)
_app = None


def bind(app) -> None:
    global _app
    _app = app


def _services() -> Services:
    global _app
    if _app is None:
        from bot import create_app
        _app = create_app()
    return get_services(_app)


def process_event(row_id: int) -> None:
    dispatch.process_event(_services(), row_id)


def send_outbox(outbox_id: int) -> None:
    with logs.bound(logs.from_job()):
        dispatch.send_outbox(_services(), outbox_id)


def fetch_media(attachment_id: int) -> None:
    svc = _services()
    with logs.bound(logs.from_job()):
        if photos.fetch(svc.db, svc.line, svc.media, attachment_id) == "refused":
            notice = photos.refusal_message(svc.db, attachment_id)  # the resident is told, once
            if notice is not None:
                dispatch.send_outbox(svc, notice)


def sweep() -> dict:
    return sweeper.sweep(_services())


def notify_case_event(case_event_id: int) -> int:
    """Plan and send the pushes for one case change; safe to run again (never sends twice)."""
    from services import notify
    svc = _services()
    quota = svc.line.monthly_quota()
    with svc.db.session() as s:
        ids = notify.plan(s, case_event_id, quota, svc.user_hash)
    for outbox_id in ids:
        dispatch.send_outbox(svc, outbox_id)
    return len(ids)


def build_digest(svc: Services) -> list[str]:
    from services import clock, digest
    today = clock.today()
    with svc.db.session() as s:
        texts = [digest.text(section, cases, today) for section, cases in digest.overdue_by_section(s, today).items()]
        failed = digest.failed_events_notice(s)  # LINE events that could not be handled: first, so it is read
    notice = digest.welfare_notice(today)  # stale welfare parameters: 社會課 must update them
    texts = [failed] + texts if failed else texts
    return texts + [notice] if notice else texts


def send_digest() -> int:
    """Push the overdue digest to the staff LINE group (once a day; see bot/worker.py)."""
    import uuid
    from services.messages import Text
    svc = _services()
    group = svc.config.get("STAFF_GROUP_ID")
    texts = build_digest(svc)
    if not group or not texts:
        return 0
    from services.models import utcnow
    key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"digest:{group}:{utcnow().date().isoformat()}"))
    svc.line.push(group, [Text(x) for x in texts[:5]], key)
    return len(texts)


def send_dengue_reminder(run_id: int) -> int:
    """Write and send one 巡倒清刷 reminder run (services/dengue/reminders.py); safe to run again."""
    from services.dengue import reminders
    from services.line import DeliveryError
    svc = _services()
    quota = svc.line.monthly_quota()
    with svc.db.session() as s:
        ids = reminders.plan(s, run_id, quota)
    failed = 0
    for outbox_id in ids:
        try:
            dispatch.send_outbox(svc, outbox_id)
        except DeliveryError:
            failed += 1  # the sweeper sends it again with the same retry key
    if failed:
        log.warning("dengue reminder run %s: %d pushes left for the sweeper", run_id, failed)
    return len(ids)


def dengue_tick(svc: Services, now=None) -> dict:
    """Every minute in each worker: start this week's reminder when it is due (the run's unique
    key and the job id make it once across workers), and finish the clean-up after anonymous
    dengue reports."""
    from bot import queueing
    from services import dengue
    from services.dengue import reminders
    out: dict = {"runs": [], "photos_cleared": 0}
    key = reminders.weekly_key(now)
    with svc.db.session() as s:
        if key:
            reminders.ensure_run(s, key, "weekly", reminders.weekly_text())
        waiting = reminders.unplanned_runs(s)  # this week's, and any whose job was lost
    for run_id in waiting:
        queueing.enqueue_reminder(svc, run_id)
    out["runs"] = waiting
    with svc.db.session() as s:
        originals = dengue.cleanup_anonymous(s)
    svc.media.delete(*originals)
    out["photos_cleared"] = len(originals)
    return out
