"""Who may see and do what in the dashboard.

- admin: everything, staff accounts, the audit log, exports with personal data;
- section staff: the cases their section owns;
- EOC duty staff: disaster cases;
Kinds marked private in knowledge/kinds.yaml (welfare, dengue) are never shown to another
section, whatever else applies; EOC duty staff see the kinds marked ``eoc`` there.
"""
from __future__ import annotations

from sqlalchemy import Select, false

from services import kinds
from services.models import Staff, Submission


def can_view(staff: Staff, sub: Submission) -> bool:
    if not staff.active:
        return False
    if staff.role == "admin":
        return True
    if sub.kind in kinds.private_ids():
        return staff.role == "section" and staff.section == sub.owner_section
    if staff.role == "eoc":
        return sub.kind in kinds.eoc_ids()
    return staff.role == "section" and staff.section == sub.owner_section


def can_change(staff: Staff, sub: Submission) -> bool:
    return can_view(staff, sub)


def visible(query: Select, staff: Staff) -> Select:
    """Restrict a query over Submission to what ``staff`` may see."""
    if not staff.active:
        return query.where(false())
    if staff.role == "admin":
        return query
    if staff.role == "eoc":
        return query.where(Submission.kind.in_(sorted(kinds.eoc_ids())),
                           Submission.kind.not_in(sorted(kinds.private_ids())))
    return query.where(Submission.owner_section == staff.section)


def can_see_personal_data(staff: Staff, sub: Submission) -> bool:
    """Phone numbers and LINE ids: the owning section and admins."""
    return staff.role == "admin" or (staff.role == "section" and staff.section == sub.owner_section)


def can_export_personal(staff: Staff) -> bool:
    return staff.role == "admin"


def is_admin(staff: Staff) -> bool:
    return staff.active and staff.role == "admin"


def can_view_kind(staff: Staff, kind: str) -> bool:
    """Whether any case of ``kind`` may be shown to ``staff`` (e.g. the disaster situation board:
    admins, EOC duty staff, and the section that owns disaster cases)."""
    if not staff.active:
        return False
    if staff.role == "admin":
        return True
    if staff.role == "eoc":
        return kind in kinds.eoc_ids() and kind not in kinds.private_ids()
    return staff.role == "section" and staff.section == kinds.owner(kind)
