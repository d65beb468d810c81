"""Running the queue workers: ``flask --app app worker`` in production, a thread in local mode.

Queues, in priority order: events (conversations), send (messages), media (photos).
One worker keeps each resident's events in order; the conversation lock keeps them safe
when more workers run.
"""
from __future__ import annotations

import logging
import threading
import time

from rq import SimpleWorker
from rq.job import Job
from rq.timeouts import TimerDeathPenalty

from bot import jobs, queueing, sweeper
from services import inbound
from bot.extensions import EVENTS_QUEUE, MEDIA_QUEUE, SEND_QUEUE, Services, get_services

log = logging.getLogger(__name__)
QUEUE_ORDER = (EVENTS_QUEUE, SEND_QUEUE, MEDIA_QUEUE)
SWEEP_EVERY_S = 60


class ThreadWorker(SimpleWorker):
    """A worker that can run outside the main thread (local mode, tests, benchmarks)."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self):  # signals can only be set in the main thread
        pass


def queues(svc: Services):
    return [svc.queue(name) for name in QUEUE_ORDER]


def promote_due_jobs(svc: Services) -> int:
    """Move retries whose wait is over back onto their queues (what RQ's scheduler does)."""
    moved = 0
    for q in queues(svc):
        registry = q.scheduled_job_registry
        for job_id in registry.get_jobs_to_schedule(int(time.time())):
            try:
                job = Job.fetch(job_id, connection=q.connection)
            except Exception:
                registry.remove(job_id)
                continue
            registry.remove(job)
            q.enqueue_job(job)
            moved += 1
    return moved


class Feeder:
    """Turns the webhook's new events into RQ jobs (``process_event(row)``, job id ``evt-<row>``).

    PostgreSQL: the webhook's insert notifies ``inbound.CHANNEL`` with each new row's id and
    ``webhookEventId``. The feeder listens, claims the events in Redis (SET NX EX 24 h, one
    pipelined round trip per batch) and enqueues the jobs of those it claimed; so with several
    workers each event is enqueued by one feeder, and an event is never enqueued twice by a
    redelivery (the insert did nothing, so there was no notice). After it (re)connects, the
    feeder first listens and then goes through the stored events still ``received`` in the same
    way, so notices sent while no feeder listened are not lost. An event claimed whose job was
    then lost (Redis failed) is re-enqueued by the sweeper.

    SQLite (local mode): the webhook claims and puts the id on the Redis inbox before it inserts
    the row; an id whose row is not there yet is looked up again shortly, and one whose row never
    appears (the webhook answered 500, LINE will redeliver) is dropped after about 10 s.
    """

    MAX_TRIES = 40
    CATCH_UP_MAX = 20_000

    def __init__(self, svc: Services):
        self.svc = svc
        self.postgres = svc.db.engine.dialect.name == "postgresql"
        self.listener: inbound.Listener | None = None
        self.caught_up = False
        self.waiting: dict[str, tuple[int, float]] = {}

    def run_once(self, block_s: float | None = None, burst: bool = False) -> int:
        """Hand off what is new, waiting up to ``block_s`` for it; returns how many events were
        looked at (0: nothing new). ``burst``: do not listen, take what is stored now, once."""
        if self.postgres:
            return self._from_database(block_s, burst)
        return self._from_inbox(block_s, burst)

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None

    # PostgreSQL: notices from the webhook's insert ---------------------------------------------
    def _from_database(self, block_s: float | None, burst: bool) -> int:
        if burst:
            if self.caught_up:
                return 0
            self.caught_up = True
            return self._catch_up()
        try:
            if self.listener is None:
                self.listener = inbound.Listener(self.svc.db.url)  # listen first, then catch up
                return self._catch_up()
            return self._hand_off(self.listener.wait(block_s))
        except Exception:
            self.close()  # reconnect and catch up on the next call
            raise

    def _catch_up(self) -> int:
        seen, after = 0, 0
        while seen < self.CATCH_UP_MAX:
            rows = inbound.waiting(self.svc.db, after_id=after)
            if not rows:
                break
            self._hand_off(rows)
            seen += len(rows)
            after = rows[-1][0]
        return seen

    def _hand_off(self, rows: list[tuple[int, str]]) -> int:
        if not rows:
            return 0
        rows = list(dict(rows).items())  # a row announced twice is handed off once
        claimed = self.svc.state.claim([event_id for _, event_id in rows])
        for (row_id, _), ok in zip(rows, claimed):
            if ok:
                queueing.enqueue_event(self.svc, row_id)
        return len(rows)

    # SQLite: the inbox list in Redis -----------------------------------------------------------
    def _from_inbox(self, block_s: float | None, burst: bool) -> int:
        now = time.monotonic()
        wait = 0.05 if self.waiting else block_s
        ids = self.svc.state.pop_inbox(wait)
        due = [e for e, (_, at) in self.waiting.items() if at <= now]
        todo = list(dict.fromkeys(ids + due))
        if not todo:
            return 0
        found = inbound.rows_for(self.svc.db, todo)
        for event_id in todo:
            if event_id in found:
                self.waiting.pop(event_id, None)
                row_id, status = found[event_id]
                if status == "received":
                    queueing.enqueue_event(self.svc, row_id)
                continue
            tries = self.waiting.get(event_id, (0, 0.0))[0] + 1
            if burst or tries > self.MAX_TRIES:
                self.waiting.pop(event_id, None)
            else:
                self.waiting[event_id] = (tries, now + min(0.02 * tries, 0.5))
        return len(todo)


def _feed_loop(app, stop: threading.Event) -> None:
    feeder = Feeder(get_services(app))
    try:
        while not stop.is_set():
            try:
                feeder.run_once(block_s=1.0)
            except Exception:
                log.exception("feeder error; retrying")
                stop.wait(1.0)
    finally:
        feeder.close()


def run_burst(app) -> bool:
    """Process everything queued now, in this thread; used by tests and benchmarks."""
    jobs.bind(app)
    svc = get_services(app)
    feeder = Feeder(svc)
    while feeder.run_once(burst=True):
        pass
    w = ThreadWorker(queues(svc), connection=svc.redis)
    return w.work(burst=True, logging_level="WARNING")


def _sweep_loop(app, stop: threading.Event, promote: bool) -> None:
    svc = get_services(app)
    last_sweep = 0.0
    while not stop.wait(2.0):
        try:
            if promote:
                promote_due_jobs(svc)
            if time.time() - last_sweep >= SWEEP_EVERY_S:
                last_sweep = time.time()
                with app.app_context():
                    sweeper.sweep(svc)
                    _daily_digest(svc)
                    jobs.dengue_tick(svc)  # the weekly 巡倒清刷 reminder (Saturday 09:00 Taipei)
        except Exception:
            log.exception("sweeper loop error")


def _daily_digest(svc: Services) -> None:
    """At 08:00 Taipei time on working days, once across all workers."""
    from services import calendar, clock
    now = clock.taipei_now()
    if now.hour < 8 or not calendar.is_working_day(now.date()) or not svc.config.get("STAFF_GROUP_ID"):
        return
    if svc.state.claim_digest(now.date().isoformat()):
        jobs.send_digest()


def warm_up(app) -> None:
    """Build what understanding a message needs (the FAQ and examples index, the danger model of
    services/safety_learned.py) before the first message, so that the first resident of a new
    process does not wait the few seconds it takes."""
    with app.app_context():
        from services import nlu, safety
        nlu.classify("warm up")
        safety.alarm("warm up")


def start_embedded(app) -> threading.Event:
    """Local mode: a worker thread and a sweeper thread inside the web process."""
    jobs.bind(app)
    svc = get_services(app)
    stop = threading.Event()

    def work():
        warm_up(app)
        while not stop.is_set():
            try:
                ThreadWorker(queues(svc), connection=svc.redis).work(
                    burst=False, logging_level="WARNING", max_idle_time=None)
            except Exception:
                log.exception("embedded worker stopped; restarting")
                time.sleep(1)

    threading.Thread(target=work, name="embedded-worker", daemon=True).start()
    threading.Thread(target=_feed_loop, args=(app, stop), name="feeder", daemon=True).start()
    threading.Thread(target=_sweep_loop, args=(app, stop, True), name="sweeper", daemon=True).start()
    return stop


def run(app, burst: bool = False) -> None:
    """Production: a worker on the real Redis, with RQ's scheduler for retries and the sweeper."""
    jobs.bind(app)
    svc = get_services(app)
    if burst:
        feeder = Feeder(svc)
        while feeder.run_once(burst=True):
            pass
    else:
        warm_up(app)
    stop = threading.Event()
    threading.Thread(target=_sweep_loop, args=(app, stop, False), name="sweeper", daemon=True).start()
    threading.Thread(target=_feed_loop, args=(app, stop), name="feeder", daemon=True).start()
    try:
        SimpleWorker(queues(svc), connection=svc.redis).work(burst=burst, with_scheduler=True,
                                                              logging_level="INFO")
    finally:
        stop.set()
