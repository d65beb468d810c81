"""The actions the disaster conversation asks for, run in the event's transaction:

- ``record_report`` (after the S case is created): stores the facts the board counts, marks the
  report verified when the reporter is a bound chief at that moment, records a damage check-in for
  the chief's village during the disaster mode, and pushes a summary with a dashboard link to the
  staff group (``STAFF_GROUP_ID``) when it is set.
- ``checkin_safe``: 「平安」 from a bound chief during the disaster mode; a village that still has
  open S cases (opened before the mode too) is recorded as "no new damage" (``no_new``), and the
  chief is told the earlier reports stay open.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services import workflow
from services.actions import ActionContext, ActionResult
from services.disaster import chiefs
from services.disaster.facts import FLOW_ID, SEVERITY_RANK, severity, taipei
from services.disaster.mode import current_period
from services.disaster.models import ChiefBinding, ChiefCheckin, DisasterReport
from services.knowledge import category_label, t
from services.messages import Text, postback
from services.models import Submission, utcnow


def _pick_binding(rows: list[ChiefBinding], village: str | None) -> ChiefBinding | None:
    for b in rows:
        if b.village == village:
            return b
    return rows[0] if rows else None


def record_report(session: Session, payload: dict[str, Any], ctx: ActionContext) -> ActionResult:
    """After the S case is created: its facts, verified or not, the chief's check-in, the staff push."""
    ref = ctx.values.get("ref")
    sub = session.execute(select(Submission).where(Submission.ref == ref)).scalar_one_or_none() if ref else None
    if sub is None or session.get(DisasterReport, sub.id) is not None:
        return ActionResult()
    binding = _pick_binding(chiefs.bindings_of(session, ctx.user_id), sub.village)
    period = current_period(session)
    facts = {k: payload.get(k) for k in ("passable", "water_depth_cm", "households", "evacuation",
                                         "trapped", "injured")}
    level = severity(facts)
    row = DisasterReport(
        submission_id=sub.id, period_id=period.id if period else None, severity=level,
        severity_rank=SEVERITY_RANK[level], verified=binding is not None,
        binding_id=binding.id if binding else None, reporter_village=binding.village if binding else None,
        reporter_role=binding.role if binding else None,
        on_behalf=bool(payload.get("on_behalf")) and binding is not None,
        passable=facts["passable"], water_depth_cm=facts["water_depth_cm"], households=facts["households"],
        evacuation=facts["evacuation"], trapped=int(facts["trapped"] or 0), injured=int(facts["injured"] or 0))
    session.add(row)
    if level == "critical":
        sub.danger = True
    if binding is not None and period is not None:
        session.add(ChiefCheckin(period_id=period.id, village=binding.village, binding_id=binding.id,
                                 status="damage", submission_id=sub.id, source_event_id=ctx.event_id))
    session.flush()
    replies = None
    if binding is not None:
        replies = (Text(t("disaster.done_verified", ref="{ref}", next=receipt_next(period is not None))),)
    pushes = ()
    group = ctx.config.get("STAFF_GROUP_ID")
    if group:
        pushes = ((group, (staff_summary(sub, row, ctx.config.get("PUBLIC_BASE_URL") or ""),)),)
    return ActionResult(replies=replies, pushes=pushes)


def receipt_next(mode_is_on: bool) -> str:
    """The receipt's "what happens next": the EOC now (disaster mode) or the office in working hours."""
    return t("disaster.receipt.mode_on" if mode_is_on else "disaster.receipt.mode_off")


def place_line(village: str | None, place_text: str | None) -> str:
    """The village and the typed place, without naming the village twice (「中正里中正路…」)."""
    village, place_text = village or "", place_text or ""
    if village and village in place_text:
        return place_text
    return " ".join(p for p in (village, place_text) if p)


def report_button() -> tuple:
    return (postback(t("disaster.labels.report"), "flow=disaster"),)


def staff_summary(sub: Submission, row: DisasterReport, base_url: str) -> Text:
    """The staff group's alert: no phone number, no LINE id, no name; a link to the case."""
    verified = ""
    if row.verified:
        verified = t("disaster.staff_push_verified", village=row.reporter_village or "",
                     role=chiefs.role_label(row.reporter_role))
    place = place_line(sub.village, sub.place_text) or (
        f"{sub.lat:.5f}, {sub.lng:.5f}" if sub.lat is not None else "")
    description = (sub.description or "")[:80]
    voices = len([a for a in sub.attachments if a.kind == "voice"])  # staff hear them on the case page
    if voices:
        description = t("common.voice.with_text", description=description, count=voices) if description \
            else t("common.voice.summary", count=voices)
    description = description or t("disaster.confirm.no_description")
    text = t("disaster.staff_push", ref=sub.ref, severity=t(f"disaster.severity.{row.severity}"),
             verified=verified, category=category_label(FLOW_ID, sub.category), place=place,
             details=detail_lines(row), description=description,
             link=base_url.rstrip("/") + f"/staff/cases/{sub.ref}")
    return Text("\n".join(line for line in text.splitlines() if line.strip()))


def detail_lines(row: DisasterReport) -> str:
    lines = []
    if row.trapped or row.injured:
        lines.append(t("disaster.confirm.detail_people", trapped=row.trapped, injured=row.injured))
    if row.passable:
        lines.append(t("disaster.confirm.detail_passable", value=t(f"disaster.passable.options.{row.passable}")))
    if row.water_depth_cm:
        lines.append(t("disaster.confirm.detail_water", value=f"{row.water_depth_cm} cm"))
    if row.households:
        lines.append(t("disaster.confirm.detail_households", value=f"{row.households}+"))
    if row.evacuation:
        lines.append(t("disaster.confirm.detail_evacuation", value=t(f"disaster.evacuation.options.{row.evacuation}")))
    return "\n".join(lines)


def checkin_safe(session: Session, payload: dict[str, Any], ctx: ActionContext) -> ActionResult:
    """「平安」: a no-damage check-in for each village of a bound chief, while the disaster mode is on."""
    rows = chiefs.bindings_of(session, ctx.user_id)
    if not rows:
        return ActionResult(replies=(Text(t("disaster.checkin.not_chief"), report_button()),))
    period = current_period(session)
    if period is None:
        return ActionResult(replies=(Text(t("disaster.checkin.no_mode"), report_button()),))
    now = utcnow()
    open_refs = open_refs_by_village(session, [b.village for b in rows])
    seen = set()
    for b in rows:
        if b.village in seen:
            continue
        seen.add(b.village)
        status = "no_new" if open_refs.get(b.village) else "safe"
        session.add(ChiefCheckin(period_id=period.id, village=b.village, binding_id=b.id, status=status,
                                 source_event_id=f"{ctx.event_id}:{b.id}"[:64], created_at=now))
    session.flush()
    lines = []
    safe = sorted(v for v in seen if not open_refs.get(v))
    if safe:
        lines.append(t("disaster.checkin.thanks", village="、".join(safe), time=taipei(now)))
    for village in sorted(v for v in seen if open_refs.get(v)):
        refs = open_refs[village]
        shown = "、".join(refs[:3]) + ("…" if len(refs) > 3 else "")
        lines.append(t("disaster.checkin.thanks_open", village=village, time=taipei(now), count=len(refs),
                       refs=shown))
    return ActionResult(replies=(Text("\n\n".join(lines), report_button()),))


def open_refs_by_village(session: Session, names: list[str]) -> dict[str, list[str]]:
    """The open S cases of these villages (whenever they were opened), oldest first."""
    out: dict[str, list[str]] = {}
    for village, ref in session.execute(
            select(Submission.village, Submission.ref).where(
                Submission.kind == FLOW_ID, Submission.status.in_(workflow.open_statuses()),
                Submission.village.in_(names)).order_by(Submission.created_at, Submission.id)).all():
        out.setdefault(village, []).append(ref)
    return out

