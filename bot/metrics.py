"""``GET /metrics``: Prometheus text format.

Two kinds of numbers:

- counters and histograms the processes add to as things happen (``services/metrics.py``:
  webhook requests and latency, events by outcome, routing outcomes, messages sent). Under
  gunicorn and with RQ workers, set ``PROMETHEUS_MULTIPROC_DIR`` (the same folder for the web
  and worker processes on one machine) so that every process's numbers are added up;
- gauges read when the page is scraped (``ScrapeCollector``): jobs per RQ queue and state, open
  and overdue cases per section, events that failed in the last 24 hours, and the month's push
  budget and use from LINE (asked at most every ``BUDGET_TTL_S`` seconds).

Access: with ``METRICS_TOKEN`` set, only ``Authorization: Bearer <token>`` (401 otherwise);
without it, only a client on this machine (127.0.0.1 / ::1; 404 for anyone else), e.g. a
Prometheus or node-exporter textfile job on the same VM.
"""
from __future__ import annotations

import datetime as dt
import hmac
import logging
import os
import threading
import time

from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select

from bot.extensions import Services, get_services

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)
BUDGET_TTL_S = 600
LOOPBACK = {"127.0.0.1", "::1"}


class _Budget:
    """The month's push budget from LINE, cached: a scrape every 15 s must not call LINE each time."""

    def __init__(self):
        self.lock = threading.Lock()
        self.at = 0.0
        self.value: tuple[int | None, int] | None = None

    def get(self, svc: Services) -> tuple[int | None, int] | None:
        with self.lock:
            if time.monotonic() - self.at > BUDGET_TTL_S or self.value is None:
                try:
                    self.value = svc.line.push_budget()
                except Exception as exc:  # noqa: BLE001 - the gauge is left out, line_up says why
                    log.warning("metrics: push budget not read (%s)", type(exc).__name__)
                    self.value = None
                self.at = time.monotonic()
            return self.value


class ScrapeCollector:
    """Gauges computed at scrape time from the database, Redis and LINE."""

    def __init__(self, svc: Services, budget: _Budget):
        self.svc = svc
        self.budget = budget

    def collect(self):
        up = GaugeMetricFamily("zuozhen_source_up", "1 when /metrics could read the source", labels=["source"])
        for source, part in (("redis", self._queues), ("database", self._cases), ("line", self._budget)):
            try:
                families = list(part())
                ok = 1
            except Exception as exc:  # noqa: BLE001 - a scrape never fails because one source is down
                log.warning("metrics: %s not read (%s)", source, type(exc).__name__)
                families, ok = [], 0
            yield from families
            up.add_metric([source], ok)
        yield up

    def _queues(self):
        jobs = GaugeMetricFamily("zuozhen_queue_jobs", "RQ jobs per queue and state", labels=["queue", "state"])
        for name, q in sorted(self.svc.queues.items()):
            jobs.add_metric([name, "queued"], q.count)
            jobs.add_metric([name, "started"], q.started_job_registry.count)
            jobs.add_metric([name, "scheduled"], q.scheduled_job_registry.count)
            jobs.add_metric([name, "failed"], q.failed_job_registry.count)
        yield jobs

    def _cases(self):
        from services import inbound, workflow
        from services.models import Submission, utcnow
        from services import clock
        today = clock.today()
        open_ = GaugeMetricFamily("zuozhen_cases_open", "Open cases per owning section", labels=["section"])
        overdue = GaugeMetricFamily("zuozhen_cases_overdue", "Open cases past their target date per section",
                                    labels=["section"])
        failed = GaugeMetricFamily("zuozhen_events_failed_24h", "LINE events that ended failed in the last 24 h")
        section = func.coalesce(Submission.owner_section, "-")
        is_open = Submission.status.in_(workflow.open_statuses())
        with self.svc.db.session() as s:
            for name, n in s.execute(select(section, func.count()).where(is_open).group_by(section)):
                open_.add_metric([name], n)
            for name, n in s.execute(select(section, func.count()).where(is_open, Submission.due_date < today)
                                     .group_by(section)):
                overdue.add_metric([name], n)
            failed.add_metric([], inbound.failed_since(s, utcnow() - dt.timedelta(hours=24)))
        yield from (open_, overdue, failed)

    def _budget(self):
        value = self.budget.get(self.svc)
        if value is None:
            raise RuntimeError("LINE did not answer")
        limit, used = value
        used_g = GaugeMetricFamily("zuozhen_push_month_used", "Messages counted against this month's LINE budget")
        used_g.add_metric([], used)
        yield used_g
        if limit is not None:
            limit_g = GaugeMetricFamily("zuozhen_push_month_limit", "This month's LINE message budget")
            limit_g.add_metric([], limit)
            yield limit_g


class _ProcessCollector:
    """This process's own counters (single-process mode)."""

    def collect(self):
        yield from REGISTRY.collect()


def _allowed() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        if request.remote_addr not in LOOPBACK:
            abort(404)
        return True
    auth = request.headers.get("Authorization", "")
    given = auth[len("Bearer "):].strip() if auth.startswith("Bearer ") else ""
    return hmac.compare_digest(given.encode(), str(token).encode())


def exposition(app: Flask) -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ProcessCollector())
    registry.register(ScrapeCollector(get_services(app), app.extensions["zuozhen_budget"]))
    return generate_latest(registry)


@bp.get("/metrics")
def metrics():
    if not _allowed():
        return Response("unauthorized\n", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'},
                        mimetype="text/plain")
    return Response(exposition(current_app._get_current_object()), content_type=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    app.extensions["zuozhen_budget"] = _Budget()
    app.register_blueprint(bp)
