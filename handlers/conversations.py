"""The conversations the router knows: one module per kind of case, loaded from the kinds registry,
and the tables built from them (handlers/router.py routes with these; handlers/answers.py answers
a text's label with them)."""
from __future__ import annotations

import importlib

from handlers.flow import Flow
from handlers.report import ReportSteps
from services import kinds

# One module per kind of case, handlers/<flow>.py as knowledge/kinds.yaml names it (services/kinds.py;
# services never import handlers, so the module is named there and imported here). A module offers:
#   FLOW, start(inc, ctx, now)        its flow (FLOW.id is the kind's id) and how it begins;
#   ANSWERS = {label: fn(inc, intent, ctx, now, active)}  labels it answers without a flow (optional);
#   urgent(state, inc, ctx, now)      checked first, before commands (safety: "call 119 now") (optional);
#   intercept(state, inc, ctx, now)   checked after the global commands (its own commands) (optional).
# A hook returns an Outcome, or None to let routing go on. The routing labels that begin a flow are
# the kind's ``labels`` in the registry; hooks are asked in the registry's order.


def _conversation(kind: kinds.Kind):
    module = importlib.import_module(f"handlers.{kind.flow}")
    if getattr(module, "FLOW", None) is None or module.FLOW.id != kind.id:
        raise ImportError(f"handlers.{kind.flow} has no FLOW with the id {kind.id!r} (knowledge/kinds.yaml)")
    return module


CONVERSATIONS = tuple(_conversation(k) for k in kinds.registry())
FLOWS: dict[str, Flow] = {m.FLOW.id: m.FLOW for m in CONVERSATIONS}
STARTERS = {m.FLOW.id: m.start for m in CONVERSATIONS}
INTENT_FLOW = {label: k.id for k in kinds.registry() for label in k.labels}
FLOW_LABELS = {k.id: k.label for k in kinds.registry()}
LABEL_ANSWERS = {label: fn for m in CONVERSATIONS for label, fn in getattr(m, "ANSWERS", {}).items()}
# The report conversations (their shared steps keep voice messages as the description).
REPORT_STEPS = {m.FLOW.id: m.STEPS for m in CONVERSATIONS if isinstance(getattr(m, "STEPS", None), ReportSteps)}
