"""Counters and histograms that the web and worker processes add to (Prometheus, ``prometheus_client``).

Only what happens in a process is counted here; what is read from the database, Redis or LINE
(queue depth, open and overdue cases, the push budget) is measured when ``/metrics`` is scraped
(``bot/metrics.py``). With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn with several workers, and
the RQ workers on the same machine or volume) every process writes its numbers to files in that
folder and ``/metrics`` adds them up; it must be set before this module is imported and emptied
when the service starts.

Labels never carry a user, a text or a case number: only small fixed sets of words.
"""
from __future__ import annotations

import os

# In multiprocess mode prometheus_client writes into this folder from the first metric on.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], mode=0o700, exist_ok=True)

from prometheus_client import Counter, Histogram  # noqa: E402

WEBHOOK_REQUESTS = Counter("zuozhen_webhook_requests_total", "POST /callback requests by HTTP status",
                           ["status"])
WEBHOOK_LATENCY = Histogram("zuozhen_webhook_latency_seconds", "Time to answer POST /callback",
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0))
EVENTS = Counter("zuozhen_events_total",
                 "LINE events by outcome: processed, ignored (a type or mode the bot does not handle), "
                 "rejected (the SDK's models cannot read it), failed (given up, or refused at storage)",
                 ["outcome"])
ROUTING = Counter("zuozhen_routing_total",
                  "Routed messages by outcome: answered, unsure (a guess, kept for staff), not_understood",
                  ["outcome"])
LINE_MESSAGES = Counter("zuozhen_line_sends_total",
                        "Messages sent to LINE: via reply (free) or push (counts against the monthly budget); "
                        "push_duplicate is a push LINE had already accepted under its retry key",
                        ["via"])

EVENT_OUTCOMES = ("processed", "ignored", "rejected", "failed")
ROUTING_OUTCOMES = ("answered", "unsure", "not_understood")


def event(outcome: str, n: int = 1) -> None:
    if n:
        EVENTS.labels(outcome).inc(n)


def routed(question: dict | None) -> None:
    """An outcome of the router: no question kept is answered; a kept one is unsure, or not
    understood when the router had no idea at all (label ``unknown``)."""
    if question is None:
        ROUTING.labels("answered").inc()
    elif question.get("label") == "unknown":
        ROUTING.labels("not_understood").inc()
    else:
        ROUTING.labels("unsure").inc()


def sent(via: str) -> None:
    LINE_MESSAGES.labels(via).inc()


def _touch_labels() -> None:
    """Every label of the fixed sets exists from the start, so a rate() never sees a gap."""
    for outcome in EVENT_OUTCOMES:
        EVENTS.labels(outcome)
    for outcome in ROUTING_OUTCOMES:
        ROUTING.labels(outcome)
    for via in ("reply", "push", "push_duplicate"):
        LINE_MESSAGES.labels(via)


_touch_labels()
