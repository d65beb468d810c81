"""Case exports for spreadsheets: CSV (UTF-8 with BOM, so Excel reads the Chinese) and XLSX.

Only what staff may pass on: public notes (never internal ones), and the phone number only for
those allowed to export personal data. Cells a spreadsheet would run as a formula are
neutralised (CSV: a leading apostrophe; XLSX: stored as text).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.dashboard import text
from services import workflow
from services.models import CaseEvent, Staff, Submission
from services.clock import TAIPEI

COLUMNS = ("ref", "category", "status", "village", "place", "description", "created_at", "due_date",
           "assignee", "public_notes")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 500


def taipei_time(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:  # SQLite hands back UTC without a zone
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M")


def columns(with_phone: bool) -> list[str]:
    return list(COLUMNS) + (["phone"] if with_phone else [])


def header(with_phone: bool) -> list[str]:
    return [text(f"export.columns.{c}") for c in columns(with_phone)]


def public_notes(session: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    """Each case's public notes in order, as "date: note"; internal notes are left out in SQL (``CaseEvent.is_public_note``)."""
    notes: dict[int, list[str]] = defaultdict(list)
    for i in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(CaseEvent).where(CaseEvent.submission_id.in_(ids[i:i + CHUNK]), CaseEvent.is_public_note)
            .order_by(CaseEvent.submission_id, CaseEvent.id)).scalars()
        for ev in rows:
            notes[ev.submission_id].append(f"{taipei_time(ev.created_at)[:10]}: {ev.note}")
    return notes


def rows(session: Session, subs: Sequence[Submission], with_phone: bool,
         category_text, place_text) -> list[list[str]]:
    """One list of cell texts per case, in ``columns(with_phone)`` order."""
    ids = [s.id for s in subs]
    notes = public_notes(session, ids)
    assignee_ids = {s.assignee_id for s in subs if s.assignee_id}
    names = dict(session.execute(select(Staff.id, Staff.display_name).where(Staff.id.in_(assignee_ids))).all()) \
        if assignee_ids else {}
    out = []
    for sub in subs:
        due = sub.due_date.isoformat() if sub.due_date else ""
        if due and workflow.is_overdue(sub):
            due += text("export.overdue_suffix")
        row = [sub.ref, category_text(sub), workflow.status_label(sub.status), sub.village or "",
               place_text(sub), sub.description or "", taipei_time(sub.created_at), due,
               names.get(sub.assignee_id, "") if sub.assignee_id else text("export.unassigned"),
               "\n".join(notes.get(sub.id, []))]
        if with_phone:
            row.append(sub.phone or "")
        out.append(row)
    return out


def _csv_safe(value: str) -> str:
    return "'" + value if value and value.startswith(FORMULA_START) else value


def to_csv(head: list[str], body: Iterable[list[str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(head)
    for row in body:
        writer.writerow([_csv_safe(str(v)) for v in row])
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(head: list[str], body: Iterable[list[str]]) -> bytes:
    # openpyxl is loaded only when someone exports: it is large for a web process.
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(text("export.sheet_title"))
    widths = [18, 22, 12, 10, 28, 40, 18, 14, 12, 40, 14]
    for i, w in enumerate(widths[:len(head)]):
        ws.column_dimensions[chr(ord("A") + i)].width = w
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    cells = []
    for h in head:
        c = WriteOnlyCell(ws, value=h)
        c.font = bold
        cells.append(c)
    ws.append(cells)
    for row in body:
        out = []
        for v in row:
            c = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", str(v)))
            c.data_type = "s"  # text, never a formula, whatever it starts with
            out.append(c)
        ws.append(out)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
