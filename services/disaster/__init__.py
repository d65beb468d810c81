"""Disaster reports, the disaster mode and the situation board (no Flask, no LINE calls):

- ``facts``: categories, EMIC codes and severity, from knowledge/disaster.yaml;
- ``mode``: a disaster period and the chiefs' check-in requests (``start_mode`` / ``end_mode``);
- ``reports``: the actions ``record_report`` and ``checkin_safe``;
- ``board``: what the EOC's situation board and its CSV show;
- ``chiefs``: village chiefs' one-time codes and LINE bindings (``services.disaster.chiefs:bind``);
- ``models``: the tables (imported by services.schema, so that Alembic sees them).

What other modules use is re-exported here, so ``services.disaster:record_report`` names an action.
"""
from services.disaster import chiefs
from services.disaster.board import Board, board, case_facts, export_rows, open_cases_query, village_row
from services.disaster.facts import FLOW_ID, SEVERITY_RANK, category_ids, cfg, emic_codes, severity, taipei
from services.disaster.mode import (checkin_request, checkin_retry_key, current_period, end_mode, mode_on,
                                    mode_status, plan_checkins, start_mode)
from services.disaster.models import ChiefBindFailure, ChiefBinding, ChiefCheckin, ChiefCode, DisasterPeriod, \
    DisasterReport, RichMenuRef
from services.disaster.reports import (checkin_safe, detail_lines, open_refs_by_village, place_line, receipt_next,
                                       record_report, report_button, staff_summary)

__all__ = [
    "Board", "ChiefBindFailure", "ChiefBinding", "ChiefCheckin", "ChiefCode", "DisasterPeriod", "DisasterReport",
    "FLOW_ID", "RichMenuRef", "SEVERITY_RANK", "board", "case_facts", "category_ids", "cfg", "checkin_request",
    "checkin_retry_key", "checkin_safe", "chiefs", "current_period", "detail_lines", "emic_codes", "end_mode",
    "export_rows", "mode_on", "mode_status", "open_cases_query", "open_refs_by_village", "place_line",
    "plan_checkins", "receipt_next", "record_report", "report_button", "severity", "staff_summary", "start_mode",
    "taipei", "village_row",
]
