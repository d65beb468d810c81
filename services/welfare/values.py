"""Numbers and ranges of the welfare screener, and how they read to a resident."""
from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

from services.knowledge import t

if TYPE_CHECKING:
    from services.welfare.params import Param


Range = tuple[float, float | None]  # (low, high); high None = no upper end


def as_range(value: Any) -> Range | None:
    """A number, [a, b] or {"min": a, "max": b} as (low, high)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value), float(value)
    if isinstance(value, (list, tuple)) and len(value) == 2:
        lo, hi = value
    elif isinstance(value, dict):
        lo, hi = value.get("min"), value.get("max")
    else:
        return None
    return float(lo or 0), (None if hi is None else float(hi))


def money(n: float | None) -> str:
    """A whole number with commas; a fraction is dropped (38,787.5 -> 38,787)."""
    return "" if n is None else f"{math.floor(float(n) + 1e-9):,}"


def ntd(n: float | None, wan: bool = False) -> str:
    """An amount of money as an elder reads it, one format everywhere (buttons and reasons):
    under 100,000 whole 元 with commas (15,515); from 100,000 in 萬 with at most one decimal
    (250萬, 353.3萬). Rounded down (the safe side of a "… or less" line, with 1 元 of slack so
    that 4,999,999 reads 500萬); 約 when rounding changed the number."""
    if n is None:
        return ""
    n = float(n)
    if n < 100000 and not (wan and n >= 10000):
        shown, exact = money(n), float(n).is_integer()
    else:
        tenths = math.floor((n + 1) / 1000)
        shown = f"{tenths // 10:,}" + (f".{tenths % 10}" if tenths % 10 else "") + t("welfare.unit.wan")
        exact = abs(tenths * 1000 - n) <= 1
    return shown if exact else t("welfare.about") + shown


def num_text(n: float | None, unit: str) -> str:
    return ntd(n) if unit == t("welfare.unit.ntd") else money(n)


def roc(day: dt.date) -> int:
    return day.year - 1911


def since_text(day: dt.date | None) -> str:
    return t("welfare.since", year=roc(day), month=day.month) if day else ""


def carried_text(p: Param) -> str:
    """The period a carried-forward value was confirmed for, and that today's is not confirmed."""
    if p.undated or p.confirmed_to is None:
        return t("welfare.since_undated")
    return t("welfare.since_carried", year=roc(p.confirmed_to))


def range_text(r: Range | None, unit: str) -> str:
    if r is None:
        return ""
    lo, hi = r
    if hi is not None and lo == hi:
        return t("welfare.value.exact", value=num_text(lo, unit), unit=unit)
    if hi is None:
        return t("welfare.value.at_least", value=num_text(lo, unit), unit=unit)
    if lo <= 0:
        return t("welfare.value.at_most", value=num_text(hi, unit), unit=unit)
    return t("welfare.value.between", low=num_text(lo, unit), high=num_text(hi, unit), unit=unit)


def rule_text(op: str, threshold: Any, unit: str) -> str:
    return t(f"welfare.op.{ {'<=': 'le', '<': 'lt', '>=': 'ge', '>': 'gt'}[op] }",
             value=num_text(threshold, unit), unit=unit)
