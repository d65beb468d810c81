"""Enqueueing jobs with deterministic ids, timeouts and retries.

A job id names the work (``evt-<row>``, ``media-<row>``, ``send-<row>``); a job that is
already waiting or running under that id is not enqueued twice. The work itself is
idempotent anyway, so a second run is harmless.
"""
from __future__ import annotations

from rq import Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from bot import logs
from bot.extensions import EVENTS_QUEUE, MEDIA_QUEUE, SEND_QUEUE, Services

ACTIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def _enqueue_once(svc: Services, queue: str, func: str, arg: int, job_id: str, retry: Retry, timeout: int) -> None:
    q = svc.queue(queue)
    try:
        job = Job.fetch(job_id, connection=q.connection)
        if job.get_status(refresh=False) in ACTIVE:
            return
        job.delete()
    except NoSuchJobError:
        pass
    request_id = logs.current()
    q.enqueue(func, arg, job_id=job_id, retry=retry, job_timeout=timeout, result_ttl=0,
              failure_ttl=7 * 24 * 3600, meta={logs.META_KEY: request_id} if request_id else None)


def enqueue_event(svc: Services, row_id: int) -> None:
    _enqueue_once(svc, EVENTS_QUEUE, "bot.jobs.process_event", row_id, f"evt-{row_id}",
                  Retry(max=3, interval=[2, 10, 60]), 60)


def enqueue_media(svc: Services, attachment_id: int) -> None:
    _enqueue_once(svc, MEDIA_QUEUE, "bot.jobs.fetch_media", attachment_id, f"media-{attachment_id}",
                  Retry(max=5, interval=[5, 15, 30, 60, 120]), 120)


def enqueue_send(svc: Services, outbox_id: int) -> None:
    _enqueue_once(svc, SEND_QUEUE, "bot.jobs.send_outbox", outbox_id, f"send-{outbox_id}",
                  Retry(max=5, interval=[5, 30, 120, 600, 3600]), 60)


def enqueue_notify(svc: Services, case_event_id: int) -> None:
    """After a case change is committed: push it to the resident and followers."""
    _enqueue_once(svc, SEND_QUEUE, "bot.jobs.notify_case_event", case_event_id, f"notify-{case_event_id}",
                  Retry(max=5, interval=[5, 30, 120, 600, 3600]), 120)


def enqueue_reminder(svc: Services, run_id: int) -> None:
    """A 巡倒清刷 reminder run (weekly or staff's one-off): plan and send its pushes."""
    _enqueue_once(svc, SEND_QUEUE, "bot.jobs.send_dengue_reminder", run_id, f"dengue-reminder-{run_id}",
                  Retry(max=3, interval=[30, 300, 1800]), 900)
