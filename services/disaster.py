"""Disaster reports, the disaster mode and the situation board (no Flask, no LINE calls).

- ``record_report`` (an action, run in the event's transaction after the S case is created):
  stores the facts the board counts, marks the report verified when the reporter is a bound chief
  at that moment, records a damage check-in for the chief's village during the disaster mode, and
  pushes a summary with a dashboard link to the staff group (``STAFF_GROUP_ID``) when it is set.
- ``checkin_safe`` (an action): 「平安」 from a bound chief during the disaster mode; a village that
  still has open S cases (opened before the mode too) is recorded as "no new damage" (``no_new``), and
  the chief is told the earlier reports stay open.
- ``start_mode`` / ``end_mode``: a disaster period (start, end, who) and the check-in requests to
  every bound chief, written as outgoing messages with a deterministic retry key.
- ``board`` and ``export_rows``: what the EOC's situation board and its CSV show. A village with open
  S cases is shown as damaged (with the count) whatever its latest check-in says.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from services import chiefs, knowledge, villages, workflow
from services.actions import ActionContext, ActionResult
from services.clock import local
from services.knowledge import category_label, t
from services.messages import Text, postback, say
from services.models import Attachment, AuditLog, LineUser, OutboundMessage, Staff, Submission, utcnow
from services.models_disaster import ChiefBinding, ChiefCheckin, DisasterPeriod, DisasterReport

FLOW_ID = "disaster"
NAMESPACE = uuid.UUID("3b0e7f5c-1f5e-4c8e-9a55-6d2f4f1b7a20")
SEVERITY_RANK = {"critical": 2, "high": 1, "normal": 0}


def cfg() -> dict[str, Any]:
    return knowledge.load("disaster")


def category_ids() -> list[str]:
    return [c["id"] for c in cfg()["categories"]]


def emic_codes(category: str | None) -> str:
    for c in cfg()["categories"]:
        if c["id"] == category:
            return "/".join(c["emic"])
    return "099"


def severity(facts: dict[str, Any]) -> str:
    """critical (people in danger, evacuation needed) > high (road cut, deep water, many homes) > normal."""
    rules = cfg()["severity"]
    crit, high = rules["critical"], rules["high"]
    if int(facts.get("trapped") or 0) >= crit["trapped_min"] or int(facts.get("injured") or 0) >= crit["injured_min"]:
        return "critical"
    if facts.get("evacuation") in crit["evacuation"]:
        return "critical"
    if facts.get("passable") in high["passable"]:
        return "high"
    if int(facts.get("water_depth_cm") or 0) >= high["water_depth_cm_min"]:
        return "high"
    if int(facts.get("households") or 0) >= high["households_min"]:
        return "high"
    return "normal"


def taipei(value: dt.datetime | None) -> str:
    return local(value).strftime("%m/%d %H:%M") if value else ""


# -- the disaster mode -----------------------------------------------------------------------------

def current_period(session: Session) -> DisasterPeriod | None:
    return session.execute(select(DisasterPeriod).where(DisasterPeriod.ended_at.is_(None))
                           .order_by(DisasterPeriod.started_at.desc(), DisasterPeriod.id.desc())).scalars().first()


def mode_status(session: Session) -> dict[str, Any]:
    """A read-only query for handlers: is the disaster mode on?"""
    period = current_period(session)
    if period is None:
        return {"on": False}
    return {"on": True, "period_id": period.id, "name": period.name or ""}


def mode_on(session: Session) -> bool:
    return current_period(session) is not None


def checkin_retry_key(period_id: int, line_user_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"checkin:{period_id}:{line_user_id}"))


def checkin_request(period: DisasterPeriod, village_names: list[str]) -> Text:
    text = t("disaster.checkin.request", name=period.name or t("disaster.mode_name"),
             village="、".join(village_names))
    items = (postback(t("disaster.labels.report"), "flow=disaster"), say(t("disaster.labels.safe")))
    return Text(text, items)


def plan_checkins(session: Session, period: DisasterPeriod, user_hash_blocked=None,
                  quota: int | None = None) -> list[int]:
    """One check-in request per bound LINE account (listing its villages), never twice per period.

    Check-ins are essential: they go out while the month's pushes are under the quota.
    """
    from services.notify import month_usage
    by_account: dict[str, list[ChiefBinding]] = {}
    for b in chiefs.active_bindings(session):
        by_account.setdefault(b.line_user_id, []).append(b)
    used = month_usage(session) if quota is not None else 0
    ids = []
    for to, rows in by_account.items():
        key = checkin_retry_key(period.id, to)
        existing = session.execute(select(OutboundMessage.id).where(OutboundMessage.retry_key == key)).scalar()
        if existing is not None:
            ids.append(existing)
            continue
        if _blocked(session, rows[0].user_hash):
            continue
        if quota is not None and used >= quota:
            break
        ob = OutboundMessage(kind="checkin", to=to, reply_token=None, retry_key=key,
                             messages=[checkin_request(period, sorted({r.village for r in rows})).to_dict()])
        session.add(ob)
        session.flush()
        ids.append(ob.id)
        used += 1
    return ids


def start_mode(session: Session, staff: Staff | None, name: str | None = None,
               quota: int | None = None, now: dt.datetime | None = None) -> tuple[DisasterPeriod, list[int], bool]:
    """Switch the disaster mode on: (the period, the check-in messages to send, whether it is new)."""
    existing = current_period(session)
    if existing is not None:
        return existing, [], False
    period = DisasterPeriod(name=(name or "").strip()[:40] or None, started_at=now or utcnow(),
                            started_by=staff.id if staff else None)
    session.add(period)
    session.flush()
    ids = plan_checkins(session, period, quota=quota)
    session.add(AuditLog(staff_id=staff.id if staff else None, action="disaster_mode",
                         detail=f"on period {period.id} checkins={len(ids)}"))
    return period, ids, True


def end_mode(session: Session, staff: Staff | None, now: dt.datetime | None = None) -> DisasterPeriod | None:
    period = current_period(session)
    if period is None:
        return None
    period.ended_at, period.ended_by = now or utcnow(), staff.id if staff else None
    session.add(AuditLog(staff_id=staff.id if staff else None, action="disaster_mode", detail=f"off period {period.id}"))
    return period


def _blocked(session: Session, user_hash: str) -> bool:
    return bool(session.execute(select(LineUser.blocked).where(LineUser.user_hash == user_hash)).scalar_one_or_none())


# -- actions the conversation asks for -------------------------------------------------------------

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
    description = (sub.description or t("disaster.confirm.no_description"))[:80]
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


# -- the situation board ---------------------------------------------------------------------------

@dataclass
class Board:
    mode_on: bool
    period: dict[str, Any] | None
    villages: list[dict[str, Any]] = field(default_factory=list)
    categories: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    roads_cut: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"mode_on": self.mode_on, "period": self.period, "villages": self.villages,
                "categories": self.categories, "totals": self.totals, "roads_cut": self.roads_cut,
                "cases": self.cases}


def open_cases_query(visible: Select) -> Select:
    """Open S cases (of those ``visible`` allows) with their facts; verified first, then most serious."""
    return (visible.where(Submission.kind == FLOW_ID, Submission.status.in_(workflow.open_statuses()))
            .outerjoin(DisasterReport, DisasterReport.submission_id == Submission.id)
            .add_columns(DisasterReport)
            .order_by(func.coalesce(DisasterReport.verified, False).desc(),
                      func.coalesce(DisasterReport.severity_rank, 0).desc(),
                      Submission.created_at.desc(), Submission.id.desc()))


def _photos(session: Session, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    return dict(session.execute(select(Attachment.submission_id, func.count(Attachment.id)).where(
        Attachment.submission_id.in_(ids), Attachment.status == "stored").group_by(Attachment.submission_id)).all())


def case_facts(sub: Submission, rep: DisasterReport | None) -> dict[str, Any]:
    level = rep.severity if rep else "normal"
    return {
        "ref": sub.ref, "category": sub.category or "other",
        "category_label": category_label(FLOW_ID, sub.category or "other"),
        "village": sub.village or "", "place": sub.place_text or "", "status": sub.status,
        "status_label": workflow.status_label(sub.status),
        "severity": level, "severity_label": t(f"disaster.severity.{level}"),
        "verified": bool(rep and rep.verified),
        "reporter": chiefs.role_label(rep.reporter_role) if rep and rep.reporter_role else "",
        "on_behalf": bool(rep and rep.on_behalf),
        "trapped": rep.trapped if rep else 0, "injured": rep.injured if rep else 0,
        "passable": rep.passable if rep else None,
        "passable_label": t(f"disaster.passable.options.{rep.passable}") if rep and rep.passable else "",
        "water_depth_cm": rep.water_depth_cm if rep else None,
        "households": rep.households if rep else None,
        "evacuation": rep.evacuation if rep else None,
        "evacuation_label": t(f"disaster.evacuation.options.{rep.evacuation}") if rep and rep.evacuation else "",
        "lat": round(sub.lat, 6) if sub.lat is not None else None,
        "lng": round(sub.lng, 6) if sub.lng is not None else None,
        "created_at": taipei(sub.created_at),
    }


def board(session: Session, visible: Select, now: dt.datetime | None = None) -> Board:
    now = now or utcnow()
    period = current_period(session)
    last = period or session.execute(select(DisasterPeriod).order_by(DisasterPeriod.started_at.desc(),
                                                                     DisasterPeriod.id.desc())).scalars().first()
    out = Board(mode_on=period is not None, period=None)
    if last is not None:
        out.period = {"id": last.id, "name": last.name or "", "started_at": taipei(last.started_at),
                      "ended_at": taipei(last.ended_at) if last.ended_at else ""}

    rows = list(session.execute(open_cases_query(visible)).all())
    cats = {c: {"id": c, "label": category_label(FLOW_ID, c), "critical": 0, "high": 0, "normal": 0, "total": 0}
            for c in category_ids()}
    totals = {"open": 0, "verified": 0, "critical": 0, "high": 0, "normal": 0, "trapped": 0, "injured": 0,
              "roads_cut": 0, "evacuation_needed": 0}
    open_by_village: dict[str, int] = {}
    for sub, rep in rows:
        facts = case_facts(sub, rep)
        out.cases.append(facts)
        cat = cats.setdefault(facts["category"], {"id": facts["category"], "label": facts["category_label"],
                                                  "critical": 0, "high": 0, "normal": 0, "total": 0})
        cat[facts["severity"]] += 1
        cat["total"] += 1
        totals["open"] += 1
        totals[facts["severity"]] += 1
        totals["verified"] += int(facts["verified"])
        totals["trapped"] += facts["trapped"]
        totals["injured"] += facts["injured"]
        totals["evacuation_needed"] += int(facts["evacuation"] == "needed")
        if facts["passable"] == "no":
            totals["roads_cut"] += 1
            out.roads_cut.append(facts)
        if facts["village"]:
            open_by_village[facts["village"]] = open_by_village.get(facts["village"], 0) + 1
    out.categories = [c for c in cats.values()]
    out.totals = totals

    latest: dict[str, ChiefCheckin] = {}
    if period is not None:
        for c in session.execute(select(ChiefCheckin).where(ChiefCheckin.period_id == period.id)
                                 .order_by(ChiefCheckin.created_at, ChiefCheckin.id)).scalars():
            latest[c.village] = c
    bound = {b.village for b in chiefs.active_bindings(session, now)}
    labels = knowledge.load("dashboard")["disaster"]["checkin"]
    for name in villages.village_names():
        out.villages.append(village_row(name, latest.get(name), open_by_village.get(name, 0), name in bound, labels))
    return out


def village_row(name: str, checkin: ChiefCheckin | None, open_cases: int, bound: bool,
                labels: dict[str, str]) -> dict[str, Any]:
    """One village on the board. Open S cases (opened before the mode too) always show as damage with
    their count, whatever the latest check-in says; its time stays, marked "no new damage" when so."""
    reported = checkin.status if checkin else "none"
    at = taipei(checkin.created_at) if checkin else ""
    if open_cases:
        status, label = "damage", t("disaster.board.damage_count", count=open_cases)
        if reported in ("safe", "no_new"):
            at = t("disaster.board.at_no_new", time=at)
    else:
        status = "safe" if reported == "no_new" else reported
        label = labels[status]
    return {"village": name, "status": status, "status_label": label, "checkin": reported, "at": at,
            "bound": bound, "open_cases": open_cases}


def export_rows(session: Session, visible: Select, with_phone: bool) -> tuple[list[str], list[list[str]]]:
    """The CSV of a 災情查報 form: the open S cases, verified and most serious first."""
    cols = [c for c in cfg()["export"]["columns"] if with_phone or c["id"] != "phone"]
    rows = list(session.execute(open_cases_query(visible)).all())
    photos = _photos(session, [sub.id for sub, _ in rows])
    words = knowledge.load("dashboard")["disaster"]
    body = []
    for sub, rep in rows:
        f = case_facts(sub, rep)
        reporter = words["reporter"]["resident"]
        if f["verified"]:
            reporter = f["reporter"] + (words["reporter"]["on_behalf"] if f["on_behalf"] else "")
        values = {
            "ref": sub.ref, "reported_at": local(sub.created_at).strftime("%Y-%m-%d %H:%M"),
            "emic": emic_codes(sub.category), "category": f["category_label"], "village": f["village"],
            "place": f["place"], "lat": "" if f["lat"] is None else str(f["lat"]),
            "lng": "" if f["lng"] is None else str(f["lng"]), "description": sub.description or "",
            "passable": f["passable_label"], "water_depth": "" if not f["water_depth_cm"] else str(f["water_depth_cm"]),
            "households": "" if not f["households"] else str(f["households"]),
            "evacuation": f["evacuation_label"], "trapped": str(f["trapped"]), "injured": str(f["injured"]),
            "severity": f["severity_label"], "reporter": reporter,
            "verified": words["yes"] if f["verified"] else words["no"], "photos": str(photos.get(sub.id, 0)),
            "status": f["status_label"], "phone": sub.phone or "",
        }
        body.append([values[c["id"]] for c in cols])
    return [c["header"] for c in cols], body
