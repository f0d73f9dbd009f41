"""Readable failure details of a GX validation result: which expectation, which rows."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

# How many failing rows / values a failure detail spells out.
DETAIL_MAX_ITEMS = 10


def describe_failure(res, row_id_columns: list[str]) -> dict[str, Any]:
    cfg = res.expectation_config
    kwargs = dict(cfg.kwargs)
    result = res.to_json_dict().get("result") or {}
    column: Any = kwargs.get("column")
    if column is None and "column_A" in kwargs:
        column = [kwargs["column_A"], kwargs["column_B"]]
    if column is None and "column_list" in kwargs:
        column = list(kwargs["column_list"])
    description = cfg.description or cfg.type.replace("_", " ")

    exc = res.exception_info or {}
    if exc.get("raised_exception"):
        message = (exc.get("exception_message") or "").strip().splitlines()[:1]
        return {
            "expectation": cfg.type,
            "column": column,
            "unexpected_count": None,
            "partial_unexpected_list": [],
            "rows": [],
            "description": description,
            "detail": f"{description}: could not be evaluated ({' '.join(message)}).",
        }

    if "partial_missing_list" in result:  # expect_column_distinct_values_to_contain_set
        values = list(result.get("partial_missing_list") or [])
        count = result.get("missing_count", len(values))
        detail = f"{description}: {count} value(s) missing: {join_items(values)}."
        return {
            "expectation": cfg.type,
            "column": column,
            "unexpected_count": count,
            "partial_unexpected_list": values,
            "rows": [],
            "description": description,
            "detail": detail,
        }

    count = result.get("unexpected_count")
    values = _plain(list(result.get("partial_unexpected_list") or []))
    rows = [
        {c: _plain(r.get(c)) for c in row_id_columns}
        for r in (result.get("partial_unexpected_index_list") or [])
        if isinstance(r, dict)
    ]
    if count is None:  # aggregate expectation (no per-row result)
        detail = f"{description}: observed {_fmt(_plain(result.get('observed_value')))}."
    else:
        detail = f"{description}: {count} of {result.get('element_count')} row(s) fail"
        mostly = kwargs.get("mostly")
        if mostly is not None and mostly < 1:
            pct = result.get("unexpected_percent") or 0.0
            detail += f" ({pct:.2f}% of non-null rows, tolerance {(1 - mostly) * 100:.2f}%)"
        if rows:
            if len(row_id_columns) == 1:
                (col,) = row_id_columns
                shown = [_fmt(r[col]) for r in rows]
                detail += f"; rows ({col}): {join_items(shown, total=count)}"
            else:
                shown = [f"({', '.join(_fmt(r[c]) for c in row_id_columns)})" for r in rows]
                detail += f"; rows ({', '.join(row_id_columns)}): {join_items(shown, total=count)}"
            if not _is_flag(values):
                detail += f"; values: {join_items(_distinct(values)[:DETAIL_MAX_ITEMS])}"
        elif values:
            detail += f"; e.g. values: {join_items(_distinct(values)[:DETAIL_MAX_ITEMS])}"
        detail += "."
    return {
        "expectation": cfg.type,
        "column": column,
        "unexpected_count": count,
        "partial_unexpected_list": values,
        "rows": rows,
        "description": description,
        "detail": detail,
    }


def _plain(v: Any) -> Any:
    """numpy scalars / containers -> plain JSON-able Python values."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    numpy = sys.modules.get("numpy")  # not imported: v cannot be a numpy value
    if numpy is not None and isinstance(v, numpy.generic):
        return v.item()
    return v


def _distinct(values: list) -> list[str]:
    """Formatted values, each once, in first-seen order."""
    return list(dict.fromkeys(_fmt(v) for v in values))


def _is_flag(values: list) -> bool:
    """Values of a derived boolean column say nothing the description does not."""
    return bool(values) and all(isinstance(v, bool) for v in values)


def _fmt(v: Any) -> str:
    if isinstance(v, str):
        # GX renders dates as 2024-01-01T00:00:00(.000000); keep a plain date readable.
        for suffix in ("T00:00:00.000000", "T00:00:00"):
            if v.endswith(suffix) and len(v) == 10 + len(suffix):
                return v[:10]
        return v
    if isinstance(v, list | tuple):
        return "(" + ", ".join(_fmt(x) for x in v) + ")"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def join_items(items: Iterable[Any], total: int | None = None) -> str:
    items = [str(i) for i in items]
    shown = items[:DETAIL_MAX_ITEMS]
    more = (total if total is not None else len(items)) - len(shown)
    text = ", ".join(shown)
    return f"{text} and {more} more" if more > 0 else text
