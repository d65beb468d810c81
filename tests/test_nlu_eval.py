"""`flask --app app nlu-eval` (issue 13.4): intent accuracy, FAQ-answer accuracy, the confusion table
and the unsafe outcomes, checked on a small fixture with known outcomes; the residents' words sets are
well formed; and a ratchet on the unsafe outcomes of the tune part.

The held-out part (tests/nlu/residents-heldout.jsonl) is only checked for its format here: it is
scored to report in docs/nlu.md, never asserted on and never tuned on."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import UNSAFE_KINDS, confusion_lines, evaluate
from services import faq
from services.nlu import LABELS

ROOT = Path(__file__).resolve().parent.parent
NLU = ROOT / "tests" / "nlu"
FIXTURE = NLU / "eval-fixture.jsonl"
TUNE = ROOT / "knowledge" / "nlu" / "examples" / "residents-tune.jsonl"
HELDOUT = NLU / "residents-heldout.jsonl"

# Unsafe outcomes on the tune part, by kind, measured at commit ebd9263 (2026-12-05, before the
# method work of issue 13.3 landed): a screener started for a deceased person 10, a danger message
# answered without 119 first 0, a report answered with 「不太懂」/「不太確定」 4 (total 14).
# A change that raises any of these fails; when the method improves, LOWER these numbers
# (and record the new count in docs/nlu.md, "Evaluation on residents' words").
UNSAFE_RATCHET = {"screener": 0, "no_119": 0, "not_understood": 0}


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def _run(path: Path) -> tuple[list[dict], dict]:
    *rows, summary = list(evaluate(str(path)))
    assert summary["summary"] is True
    return rows, summary


# -- the report, on a fixture with known outcomes ------------------------------------------------

def test_fixture_summary_has_every_measure():
    rows, s = _run(FIXTURE)
    assert s["total"] == len(rows) == 9                 # the comment and the blank line are skipped
    assert s["intent_accuracy"] == round(7 / 9, 4)      # qwertyuiop is no road report, 嗨 is no request for a person
    assert (s["mentions"], s["mention_accuracy"]) == (1, 1.0)
    # FAQ answers: 低收入戶 is right, 調解 is answered by 調解 but the fixture accepts only the library;
    # the 85-year-old grandmother started the screener, an accepted label, so she is not counted.
    assert (s["faq_total"], s["faq_accuracy"]) == (2, 0.5)
    assert s["unsafe_by_kind"] == {"screener": 1, "no_119": 1, "not_understood": 1}
    assert s["unsafe"] == 3


def test_fixture_rows_say_what_went_wrong():
    rows, _ = _run(FIXTURE)
    by_text = {r["text"]: r for r in rows}
    assert by_text["qwertyuiop"]["unsafe"] == ["not_understood"] and not by_text["qwertyuiop"]["ok"]
    assert by_text["路燈壞了"]["unsafe"] == ["no_119"] and by_text["路燈壞了"]["ok"]       # marked danger: no 119
    assert by_text["阿公倒在地上叫不醒"]["unsafe"] == []                                   # 119 comes first
    assert by_text["阿公倒在地上叫不醒"]["intent"] == "human"    # for people now (119's), not a service
    assert by_text["阮阿媽82歲 有啥補助"]["unsafe"] == ["screener"]
    assert by_text["低收入戶怎麼申請"]["faq_ok"] is True
    assert by_text["調解要不要錢"]["faq_ok"] is False and by_text["調解要不要錢"]["want_faq"] == ["civil.library"]
    assert "faq_ok" not in by_text["阿嬤85歲 可以領什麼補助"]
    assert "faq_ok" not in by_text["R-20261127-0001"]


def test_fixture_confusion_table():
    _, s = _run(FIXTURE)
    c = s["confusion"]
    assert c["road_report"] == {"road_report": 1, "unknown": 1}
    assert c["human"] == {"human": 1, "greeting": 1}   # the emergency's answer is labelled human
    assert c["case_status"] == {"case_status": 1}
    assert sum(n for row in c.values() for n in row.values()) == s["total"]
    assert confusion_lines(c) == ["  human -> greeting: 1", "  road_report -> unknown: 1"]


def test_cli_prints_the_old_summary_line_then_the_new_report():
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "nlu-eval", str(FIXTURE)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "  [unsafe:not_understood] want ['road_report'] got unknown/None: qwertyuiop" in lines
    assert "  [unsafe:no_119] want ['road_report'] got road_report/None: 路燈壞了" in lines
    assert "  [faq] want ['civil.library'] got faq/civil.mediation: 調解要不要錢" in lines
    assert "  [intent] want ['human'] got greeting/None: 嗨" in lines
    i = lines.index("intent accuracy 77.8% on 9; mention accuracy 100.0% on 1")
    assert lines[i + 1:] == ["intent accuracy with the danger lines aside 71.4% on 7",
                             "faq-answer accuracy 50.0% on 2",
                             "unsafe outcomes 3 (screener 1, no_119 1, not_understood 1)",
                             "confusion (expected -> got: count)",
                             "  human -> greeting: 1",
                             "  road_report -> unknown: 1"]


def test_totals_show_no_line_of_a_held_out_set():
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "nlu-eval", "--totals", str(FIXTURE)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["intent accuracy 77.8% on 9; mention accuracy 100.0% on 1",
                                       "intent accuracy with the danger lines aside 71.4% on 7",
                                       "faq-answer accuracy 50.0% on 2",
                                       "unsafe outcomes 3 (screener 1, no_119 1, not_understood 1)"]


def test_a_danger_line_is_judged_by_its_119_not_its_label():
    _, s = _run(FIXTURE)
    assert (s["calm_total"], s["calm_accuracy"]) == (7, round(5 / 7, 4))


# -- the residents' words sets are well formed ----------------------------------------------------

@pytest.mark.parametrize("path", [TUNE, HELDOUT], ids=["tune", "heldout"])
def test_residents_set_is_well_formed(path):
    ids = set(faq.base().by_id)
    for case in _lines(path):
        want = case["intent"] if isinstance(case["intent"], list) else [case["intent"]]
        assert want and set(want) <= set(LABELS), case["text"]
        assert set(case.get("faq") or ()) <= ids, case["text"]
        assert not case.get("faq") or "faq" in want, case["text"]
        assert set(case.get("unsafe_if") or ()) <= set(UNSAFE_KINDS), case["text"]
        assert case["source"].startswith(("http://", "https://")), case["text"]
        assert case["kind"]


def test_residents_split_is_a_quarter_held_out_and_disjoint():
    tune, held = _lines(TUNE), _lines(HELDOUT)
    assert len(tune) + len(held) >= 400
    assert 0.22 <= len(held) / (len(tune) + len(held)) <= 0.28
    assert not {c["text"] for c in tune} & {c["text"] for c in held}
    header = HELDOUT.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("# HELD OUT") and "never to tune" in HELDOUT.read_text(encoding="utf-8")[:400]
    # Every kind of failure the issue names is present in both parts.
    for part in (tune, held):
        kinds = {c["kind"] for c in part}
        assert {"death", "complaint", "other_agency", "story", "fragment", "named"} <= kinds
        assert any(c.get("danger") for c in part)


# -- the ratchet -----------------------------------------------------------------------------------

def test_unsafe_outcomes_on_the_tune_part_do_not_grow():
    rows, s = _run(TUNE)
    worse = {k: n for k, n in s["unsafe_by_kind"].items() if n > UNSAFE_RATCHET[k]}
    unsafe_rows = [f"{r['unsafe']} {r['intent']}: {r['text']}" for r in rows if r["unsafe"]]
    assert not worse, f"unsafe outcomes grew: {worse} (ratchet {UNSAFE_RATCHET})\n" + "\n".join(unsafe_rows)
    assert s["unsafe"] <= sum(UNSAFE_RATCHET.values())
