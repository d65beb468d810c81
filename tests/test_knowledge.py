"""knowledge/ is complete and honest: every key the code uses exists, facts carry a source
and a review date, no Chinese text hides in Python, and the routing evaluation runs."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from services import knowledge
from services.nlu import LABELS, classify

ROOT = Path(__file__).resolve().parent.parent
SHARED_EVAL = ROOT.parent / "shared" / "eval" / "dev-utterances.jsonl"


def test_knowledge_check_is_clean():
    assert knowledge.check() == []


def test_every_message_key_used_in_code_exists():
    """t("…"), knowledge.raw/words("…") and nlu.has_word(…, "…") in handlers/, bot/ and services/;
    an f-string key (``t(f"status.{status}")``) must match at least one key of the messages."""
    assert knowledge.missing_keys() == []


def test_the_key_check_reads_services_and_f_string_keys():
    found = []
    for folder in knowledge.CODE_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            found += [(folder, key, is_pattern) for _, key, is_pattern in knowledge.keys_in_code(path.read_text("utf-8"))]
    assert sum(folder == "services" for folder, _, _ in found) > 100
    assert sum(is_pattern for _, _, is_pattern in found) > 40
    assert ("services", r"status\..+", True) in found                      # services/notify.py: t(f"status.{…}")


def test_a_missing_key_or_f_string_prefix_is_caught():
    code = ('t("road.place.ask")\nt("road.place.nope")\nt(f"status.{s}")\nt(f"statuz.{s}")\n'
            'nlu.has_word(norm, "common.commands.nope")\nknowledge.words("common.commands.cancel")\n'
            't(self.key("place.ask"))\nt(self.key("place.nope"))\n')
    problems = knowledge.missing_keys({"x.py": code})
    assert [p.split(": ")[0] for p in problems] == ["x.py:2", "x.py:4", "x.py:5", "x.py:8"]


def test_every_resident_phone_number_comes_from_contacts():
    texts = json.dumps(knowledge.messages(), ensure_ascii=False)
    assert "06-5731611" not in texts  # always through {office_phone}
    assert knowledge.t("common.human").count("06-5731611") == 1
    contacts = knowledge.contacts()
    for entry in contacts.values():
        assert entry["source"] and entry["last_reviewed"]


def test_unverified_office_hours_are_not_stated_as_certain():
    assert knowledge.contacts()["office"]["hours_status"] == "unverified"
    assert "以電話確認" in knowledge.t("common.human")


def test_no_street_address_is_invented():
    office = knowledge.contacts()["office"]
    assert "號" not in office["place"]


def test_no_resident_words_inside_python():
    """String literals in code hold no Chinese: resident words live in knowledge/ (docstrings may cite places)."""
    import ast
    cjk = re.compile(r"[\u4e00-\u9fff]")
    offenders = []
    for folder in ("bot", "handlers", "services"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                          if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                          and node.body and isinstance(node.body[0], ast.Expr)
                          and isinstance(node.body[0].value, ast.Constant)}
            for node in ast.walk(tree):
                if (isinstance(node, ast.Constant) and isinstance(node.value, str) and cjk.search(node.value)
                        and id(node) not in docstrings):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_road_categories_are_complete():
    ids = [c["id"] for c in knowledge.road()["categories"]]
    assert ids == ["pothole", "streetlight", "tree", "drain", "sign", "other"]


def test_route_labels_are_the_contract():
    for text in ("路燈壞了", "我的案件", "真人", "嗨", "qwertyuiop", "R-20261127-0001"):
        assert classify(text).label in LABELS


@pytest.mark.skipif(not SHARED_EVAL.exists(), reason="shared eval set not present")
def test_nlu_eval_command_prints_one_line_per_utterance_and_a_summary():
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "nlu-eval", str(SHARED_EVAL), "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    *items, summary = rows
    assert len(items) == summary["total"] >= 60
    assert set(items[0]) >= {"text", "intent", "topic", "reply", "ok"}
    assert summary["intent_accuracy"] >= 0.95 and "mention_accuracy" in summary
