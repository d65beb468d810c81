"""What a disaster report says: categories (with their EMIC codes), severity, and times as the EOC
reads them. Pure helpers over knowledge/disaster.yaml."""
from __future__ import annotations

import datetime as dt
from typing import Any

from services import knowledge
from services.clock import local

FLOW_ID = "disaster"
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

