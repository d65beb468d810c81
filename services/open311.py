"""Open311 GeoReport v2, read-only: which cases are public, and how a case reads as a service request.

Privacy by construction (docs/open311.md): only kinds marked ``open_data`` in knowledge/kinds.yaml
(never a private kind, never disaster reports) are services; a record is built field by field
from what may be published and never holds a phone number, a LINE user id or a staff name. The
resident's description, place text and photos appear only when a staff member switched the case to
public (``Submission.public``); coordinates are always snapped to a grid of about 50 m; phone-like
numbers in any free text are masked.

The Flask side (routes, JSON and XML) is ``bot/open311.py``.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from services import kinds, knowledge, workflow
from services.clock import TAIPEI, local
from services.models import Attachment, CaseEvent, Staff, Submission, as_utc, utcnow
from services.submissions import normalize_ref

GRID = 0.0005              # degrees: about 55 m north-south, 51 m east-west at Zuozhen (23.05 N)
MAX_RANGE = dt.timedelta(days=90)   # the spec: a date range may not span more than 90 days
DEFAULT_PAGE_SIZE = 200
MAX_PAGE_SIZE = 1000       # the spec's default maximum of records returned
OFFICE_CLOSES = dt.time(17, 30)     # expected_datetime is the due date's end of office hours
SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-05T00:00:00+08:00"
# A Taiwanese phone number: a mobile (0912-345-678), a landline with its area code (06-5731611,
# (06)573-1611) or either after +886. Matched on the text with full-width digits and signs made
# ASCII (one character for one, so the spans hold for the original text).
_PHONE = re.compile(r"(?<![0-9\-])(?:\+\s?886[\s\-]?\(?0?\)?[0-9]{1,3}\)?|09[0-9]{2}|\(?0[0-9]{1,2}\)?)"
                    r"[\s\-]?[0-9]{3,4}[\s\-]?[0-9]{3,4}(?![0-9])")
_ASCII = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)} | {"\uff0b": "+", "\uff0d": "-",
                       "\uff08": "(", "\uff09": ")", "\u3000": " "})
_USER_ID = re.compile(r"U[0-9a-f]{32}")
MASK = "***"


class QueryError(ValueError):
    """A request the API answers with 400; the message is the spec's error description."""


@dataclass(frozen=True)
class Service:
    code: str          # <kind>-<category>, e.g. road-pothole
    kind: str
    category: str
    name: str          # the category's zh-TW words
    group: str         # the kind's dashboard name
    description: str


def words() -> dict:
    return knowledge.load("public")


def mask(text: str | None) -> str | None:
    """Free text as it may be published: phone-like numbers and LINE user ids masked."""
    if not text:
        return text
    text = _USER_ID.sub(MASK, text)
    for start, end in reversed([m.span() for m in _PHONE.finditer(text.translate(_ASCII))]):
        text = text[:start] + MASK + text[end:]
    return text


def snap(value: float | None) -> float | None:
    """A coordinate snapped to the grid of about 50 m."""
    if value is None:
        return None
    return round(round(value / GRID) * GRID, 4)


def w3c(value: dt.datetime | None) -> str | None:
    """A time in the W3C format the spec asks for, in Taipei time (2026-12-01T09:30:00+08:00)."""
    return local(value).isoformat(timespec="seconds") if value else None


def parse_w3c(name: str, value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(words()["open311"]["errors"]["bad_date"].format(name=name)) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=TAIPEI)


# -- services -------------------------------------------------------------------------------------

def services() -> list[Service]:
    """Every public kind's categories, in the messages files' order."""
    out = []
    templates = words()["open311"]["service_description"]
    for kind in kinds.open_data_ids():
        for category, name in knowledge.raw(f"{kind}.categories").items():
            out.append(Service(code=f"{kind}-{category}", kind=kind, category=category, name=name,
                               group=kinds.dashboard_label(kind),
                               description=templates.get(kind, "{category}").format(category=name)))
    return out


def service(code: str) -> Service | None:
    return next((s for s in services() if s.code == code), None)


def service_of(sub: Submission) -> Service | None:
    """A case's service; a category no longer listed reads as its kind's ``other``."""
    found = {(s.kind, s.category): s for s in services()}
    return found.get((sub.kind, sub.category or "other")) or found.get((sub.kind, "other"))


def service_record(s: Service) -> dict:
    return {"service_code": s.code, "service_name": s.name, "description": s.description, "metadata": False,
            "type": "realtime", "keywords": s.category, "group": s.group}


def definition_record(s: Service) -> dict:
    return {"service_code": s.code, "attributes": []}


def discovery_record(base_url: str) -> dict:
    phone = knowledge.contacts()["office"]["phone"]
    return {"changeset": CHANGESET, "contact": words()["open311"]["contact"].format(phone=phone),
            "key_service": " ".join(words()["open311"]["key_service"].split()),
            "endpoints": [{"specification": SPEC_URL, "url": base_url, "changeset": CHANGESET,
                           "type": "production", "formats": ["application/json", "text/xml"]}]}


# -- which cases ----------------------------------------------------------------------------------

def public_cases() -> Select:
    """Every case of a published kind; nothing else is ever selected for the public side."""
    return select(Submission).where(Submission.kind.in_(kinds.open_data_ids()))


def find(session: Session, ref: str) -> Submission | None:
    """A public case by its number; None for a private kind's case as for an unknown one."""
    norm = normalize_ref(ref)
    if not norm or norm != ref.strip().upper():
        return None
    return session.execute(public_cases().where(Submission.ref == norm)).scalar_one_or_none()


@dataclass
class RequestQuery:
    refs: tuple[str, ...] = ()
    services: tuple[Service, ...] = ()
    statuses: tuple[str, ...] = ()      # open, closed
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    @classmethod
    def parse(cls, args, now: dt.datetime | None = None) -> RequestQuery:
        """The spec's parameters (and page, page_size); raises QueryError on a bad one."""
        errors = words()["open311"]["errors"]
        q = cls()
        asked = _commas(args.get("service_request_id"))
        q.refs = tuple(r for r in (normalize_ref(x) for x in asked) if r) or (("-",) if asked else ())
        codes = _commas(args.get("service_code"))
        q.services = tuple(s for s in services() if s.code in codes)
        if codes and not q.services:
            q.services = (Service("-", "-", "-", "", "", ""),)  # an unknown code matches nothing
        q.statuses = tuple(_commas(args.get("status")))
        if any(s not in ("open", "closed") for s in q.statuses):
            raise QueryError(errors["bad_status"])
        q.start, q.end = parse_w3c("start_date", args.get("start_date")), parse_w3c("end_date", args.get("end_date"))
        now = now or utcnow()
        if q.start is None and q.end is None and not q.refs:
            q.start = now - MAX_RANGE                        # the spec's default: the last 90 days
        elif q.start is not None and q.end is not None and q.end - q.start > MAX_RANGE:
            raise QueryError(errors["range_too_long"])
        try:
            q.page = int(args.get("page") or 1)
            q.page_size = int(args.get("page_size") or DEFAULT_PAGE_SIZE)
        except ValueError:
            raise QueryError(errors["bad_page"].format(most=MAX_PAGE_SIZE)) from None
        if q.page < 1 or not 1 <= q.page_size <= MAX_PAGE_SIZE:
            raise QueryError(errors["bad_page"].format(most=MAX_PAGE_SIZE))
        return q

    def select(self) -> Select:
        query = public_cases()
        if self.refs:   # the spec: service_request_id overrides every other parameter
            return query.where(Submission.ref.in_(self.refs)).order_by(Submission.id)
        if self.services:
            query = query.where(or_(*(_service_clause(svc) for svc in self.services)))
        if self.statuses and len(set(self.statuses)) == 1:
            open_ = Submission.status.in_(workflow.open_statuses())
            query = query.where(open_ if self.statuses[0] == "open" else ~open_)
        if self.start is not None:
            query = query.where(Submission.created_at >= self.start)
        if self.end is not None:
            query = query.where(Submission.created_at <= self.end)
        return (query.order_by(Submission.created_at.desc(), Submission.id.desc())
                .limit(self.page_size).offset((self.page - 1) * self.page_size))


def _commas(value: str | None) -> list[str]:
    return [x.strip() for x in (value or "").split(",") if x.strip()]


def _service_clause(svc: Service):
    """The cases of one service; ``other`` also takes a case without a category or with one no
    longer listed (as ``service_of`` reads it)."""
    if svc.category != "other":
        return and_(Submission.kind == svc.kind, Submission.category == svc.category)
    listed = [s.category for s in services() if s.kind == svc.kind and s.category != "other"]
    return and_(Submission.kind == svc.kind,
                or_(Submission.category.is_(None), Submission.category.not_in(listed)))


# -- one case as a service request ----------------------------------------------------------------

@dataclass
class Extras:
    """What a record needs beyond the case row, read in one query per page (``extras``)."""
    note: str | None = None
    updated: dt.datetime | None = None
    photos: tuple[int, ...] = ()


def extras(session: Session, subs: list[Submission]) -> dict[int, Extras]:
    """The latest public note and public change of each case, and a published case's photos."""
    out = {s.id: Extras() for s in subs}
    if not subs:
        return out
    events = session.execute(select(CaseEvent.submission_id, CaseEvent.note, CaseEvent.created_at,
                                    CaseEvent.is_public_note)
                             .where(CaseEvent.submission_id.in_(out), CaseEvent.internal.is_(False))
                             .order_by(CaseEvent.id))
    for sub_id, note, at, public_note in events:
        out[sub_id].updated = at
        if public_note:
            out[sub_id].note = note
    published = [s.id for s in subs if s.public]
    if published:
        rows = session.execute(select(Attachment.submission_id, Attachment.id)
                               .where(Attachment.submission_id.in_(published), Attachment.status == "stored",
                                      Attachment.clean_key.is_not(None)).order_by(Attachment.id))
        for sub_id, att_id in rows:
            out[sub_id].photos += (att_id,)
    return out


def status(sub: Submission) -> str:
    return "open" if sub.status in workflow.open_statuses() else "closed"


def expected(sub: Submission) -> dt.datetime:
    """The due date by the office calendar (the stored one, else the workflow's), at closing time."""
    due = sub.due_date or workflow.due_date(sub.kind, sub.category, as_utc(sub.created_at))
    return dt.datetime.combine(due, OFFICE_CLOSES, tzinfo=TAIPEI)


def agency(sub: Submission) -> str:
    if sub.status == "referred" and sub.referred_agency:
        return sub.referred_agency
    return sub.owner_section or kinds.owner(sub.kind) or ""


def request_record(sub: Submission, extra: Extras, media_url) -> dict:
    """A case as the spec's service request. ``media_url(attachment_id)`` gives a photo's address.
    Built from an allow-list of fields: nothing else of the case can reach the public."""
    svc = service_of(sub)
    published = bool(sub.public)
    updated = max(t for t in (as_utc(sub.created_at), as_utc(extra.updated), as_utc(sub.published_at)) if t)
    return {
        "service_request_id": sub.ref,
        "status": status(sub),
        "status_notes": mask(extra.note),
        "service_name": svc.name if svc else "",
        "service_code": svc.code if svc else "",
        "description": mask(sub.description) if published else None,
        "agency_responsible": agency(sub),
        "service_notice": None,
        "requested_datetime": w3c(sub.created_at),
        "updated_datetime": w3c(updated),
        "expected_datetime": w3c(expected(sub)),
        "address": mask(sub.place_text) if published else None,
        "address_id": None,
        "zipcode": None,
        "lat": snap(sub.lat),
        "long": snap(sub.lng),
        "media_url": media_url(extra.photos[0]) if published and extra.photos else None,
    }


# -- the staff switch -----------------------------------------------------------------------------

def publishable(sub: Submission) -> bool:
    return sub.kind in kinds.open_data_ids()


def set_public(session: Session, sub: Submission, actor: Staff, public: bool) -> bool:
    """Switch a case's description, place text and photos to public (or back). Returns whether
    anything changed; the caller audits and commits. A case of an unpublished kind is refused."""
    if not publishable(sub):
        raise ValueError("kind_not_public")
    if bool(sub.public) == public:
        return False
    sub.public = public
    sub.published_at = utcnow() if public else None
    sub.published_by_id = actor.id if public else None
    return True


def photo_case(session: Session, attachment_id: int) -> Attachment | None:
    """A stored photo of a published case of a public kind, or None."""
    att = session.get(Attachment, attachment_id)
    if att is None or att.status != "stored" or not att.clean_key or att.submission_id is None:
        return None
    sub = session.get(Submission, att.submission_id)
    return att if sub is not None and sub.public and publishable(sub) else None
