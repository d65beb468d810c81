"""Case status: "我的案件", a case number, or the rich-menu postback. A reply, never a push."""
from __future__ import annotations

from dataclasses import replace

from handlers.common import menu_buttons
from handlers.flow import Context, Outcome
from services.knowledge import category_label
from services.knowledge import t
from services import knowledge
from services import faq as faq_data
from services.messages import QuickReply, Text, postback
from services.clock import local
from services.submissions import CaseView

LIST_LIMIT = 5


def _date(view: CaseView) -> str:
    return local(view.created_at).strftime("%Y/%m/%d")


def _status(view: CaseView) -> str:
    return t(f"status.{view.status}")


def _call_office() -> QuickReply:
    """The button that calls the office (its phone from knowledge/contacts.yaml)."""
    phone = knowledge.contacts()["office"]["phone"]
    return QuickReply("uri", t("case_status.call_office"), uri="tel:" + phone.replace("-", ""))


def with_person(out: Outcome, active: bool, chat_type: str = "user") -> Outcome:
    """A complaint about an earlier report: the cases as ``answer`` gives them, then a person — the
    office phone (a call button) and the menu's 「真人」 under the last message. In a group, as ``answer``."""
    if chat_type != "user" or not out.replies:
        return out
    call = _call_office()
    head = tuple(replace(r, quick_replies=()) for r in out.replies)
    no_case = out.replies[0].text == t("case_status.none")
    person = Text(t("case_status.complaint_no_case" if no_case else "case_status.complaint"),
                  (call,) + menu_buttons(active=active))
    return replace(out, replies=head + (person,))


def application(entry_id: str, active: bool, chat_type: str = "user") -> Outcome:
    """An application made at the office, online or through the village (a subsidy, a certificate)
    asked after: this chat holds only the reports sent in it, so say so and give the person who can
    look it up (the office phone as a call button), with the entry of what was applied for as a
    button when one was named. Nothing private is read: the same in a group."""
    entry = faq_data.base().get(entry_id) if entry_id else None
    what = t("case_status.application_named", title=entry.title) if entry else t("case_status.application_any")
    items = (_call_office(),)
    if entry is not None:
        items += (postback(entry.title, f"faq={entry.id}", entry.title),)
    return Outcome(replies=(Text(t("case_status.application", what=what), items + menu_buttons(active=active)),),
                   keep_state=True)


def answer(ctx: Context, user_id: str | None, ref: str | None, active: bool, chat_type: str = "user") -> Outcome:
    buttons = menu_buttons(active=active)
    if chat_type != "user":
        # A group sees everything said in it: cases (a dengue report, a welfare call-back) are
        # shown only in the resident's own chat with the bot.
        return Outcome(replies=(Text(t("case_status.private_only")),), keep_state=True)
    if not user_id:
        return Outcome(replies=(Text(t("case_status.none"), buttons),), keep_state=True)
    if ref:
        view = ctx.my_case(user_id, ref)
        if view is None:
            return Outcome(replies=(Text(t("case_status.not_found", ref=ref), buttons),), keep_state=True)
        text = t("case_status.one", ref=view.ref, category=category_label(view.kind, view.category),
                 place=" ".join(p for p in (view.village, view.place_text) if p) or "-",
                 status=_status(view), date=_date(view))
        if view.public_note:
            text += "\n" + t("case_status.note", note=view.public_note)
        return Outcome(replies=(Text(text, buttons),), keep_state=True)
    views = ctx.my_cases(user_id)
    if not views:
        return Outcome(replies=(Text(t("case_status.none"), buttons),), keep_state=True)
    lines = [t("case_status.list_header", count=len(views))]
    lines += [t("case_status.item", ref=v.ref, category=category_label(v.kind, v.category), status=_status(v), date=_date(v))
              for v in views]
    if len(views) >= LIST_LIMIT:
        lines.append(t("case_status.more", shown=len(views)))
    return Outcome(replies=(Text("\n".join(lines), buttons),), keep_state=True)
