"""The dashboard's pages, by the modules that now hold them (kept so older imports keep working):

- ``common``: the shared helpers (``_db``, ``me``, ``load_case``, labels, paging) and request hooks;
- ``cases``: the case list, filters, search, map and exports;
- ``case_page``: one case (page, status change, notes, assigning, photos);
- ``accounts``: sign in and out, password, audit log, staff accounts;
- ``questions``: the unanswered questions.

New code imports from those modules; ``init_app`` registers them.
"""
from __future__ import annotations

from bot.dashboard.accounts import (USERNAME_RE, audit_log, login, logout, password, staff_active,
                                    staff_create, staff_list, staff_reset)
from bot.dashboard.case_page import (add_note, assign, assignable, case, media, render_case,
                                     transition)
from bot.dashboard.cases import (EXPORT_LIMIT, MAP_LIMIT, Filters, all_categories, case_map,
                                 cases, colleagues, export_csv, export_xlsx, filter_choices, home, map_json,
                                 visible_cases)
from bot.dashboard.common import (PAGE_SIZE, Pager, _db, _tile_origin, category_label,
                                  category_text, fmt_time, form_error, kind_label, load_case, me, osm_link,
                                  paginate, place_text, require_admin, role_label, safe_next, staff_names,
                                  workflow_error_text)
from bot.dashboard.questions import question_done, questions

__all__ = [
    "USERNAME_RE", "audit_log", "login", "logout", "password", "staff_active", "staff_create", "staff_list",
    "staff_reset",
    "add_note", "assign", "assignable", "case", "media", "render_case", "transition",
    "EXPORT_LIMIT", "MAP_LIMIT", "Filters", "all_categories", "case_map", "cases", "colleagues", "export_csv",
    "export_xlsx", "filter_choices", "home", "map_json", "visible_cases",
    "PAGE_SIZE", "Pager", "_db", "_tile_origin", "category_label", "category_text", "fmt_time", "form_error",
    "kind_label", "load_case", "me", "osm_link", "paginate", "place_text", "require_admin", "role_label",
    "safe_next", "staff_names", "workflow_error_text",
    "question_done", "questions",
]
