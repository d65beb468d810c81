"""What the EOC's situation board and its CSV show. A village with open S cases is shown as damaged
(with the count) whatever its latest check-in says."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from services import knowledge, villages, workflow
from services.clock import local
from services.disaster import chiefs
from services.disaster.facts import FLOW_ID, category_ids, cfg, emic_codes, taipei
from services.disaster.mode import current_period
from services.disaster.models import ChiefCheckin, DisasterPeriod, DisasterReport
from services.knowledge import category_label, t
from services.models import Attachment, Submission, utcnow


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
