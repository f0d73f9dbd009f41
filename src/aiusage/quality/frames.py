"""Typing a pandas batch for validation: text cleaned, numbers and timestamps parsed, and
what did not parse recorded (so it fails an expectation instead of becoming a null)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def nulls(index: pd.Index) -> pd.Series:
    return pd.Series([None] * len(index), index=index, dtype=object)


def clean_text(s: pd.Series) -> pd.Series:
    """Strip strings; empty string -> None.  Non-string values pass through unchanged."""
    if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
        return s
    if not pd.api.types.is_object_dtype(s):  # a real string dtype: vectorized
        stripped = s.str.strip()
        stripped = stripped.astype(object).where(stripped.notna() & (stripped != ""), None)
        return stripped

    def clean(v: Any) -> Any:
        if isinstance(v, str):
            v = v.strip()
            return v or None
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return None
        return v

    return pd.Series([clean(v) for v in s.tolist()], index=s.index, dtype=object)


def to_numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(float values, mask of present-but-unparseable values)."""
    if pd.api.types.is_bool_dtype(raw):
        raw = raw.astype(object)
    if pd.api.types.is_numeric_dtype(raw):
        return raw.astype("float64"), pd.Series(False, index=raw.index)
    # An integer beyond the float range (JSON allows 1e400 written out) is unparseable here,
    # as it is for the warehouse (try_cast to bigint), never an OverflowError.
    num = pd.to_numeric(raw.map(_float_or_nan), errors="coerce").astype("float64")
    # "1e400" and "inf" parse as infinity: unparseable too (the warehouse's try_cast gives
    # null for them), never a value that breaks an integer cast downstream.
    num = num.where(np.isfinite(num))
    return num, raw.notna() & num.isna()


def _float_or_nan(v: Any) -> Any:
    if isinstance(v, int) and not isinstance(v, bool):
        try:
            float(v)
        except OverflowError:
            return float("nan")
    return v


def to_dates(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(naive datetime64 dates, mask of present-but-unparseable values)."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = raw.dt.tz_localize(None) if raw.dt.tz is not None else raw
    else:
        parsed = pd.to_datetime(raw.astype(object), errors="coerce", format="ISO8601")
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    parsed = parsed.dt.normalize()
    return parsed, raw.notna() & parsed.isna()


def to_timestamps(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(naive datetime64 timestamps, mask of present-but-unparseable values)."""
    parsed, mask = to_dates(raw)
    if pd.api.types.is_datetime64_any_dtype(raw):
        full = raw.dt.tz_localize(None) if raw.dt.tz is not None else raw
    else:
        full = pd.to_datetime(raw.astype(object), errors="coerce", format="ISO8601")
        if getattr(full.dt, "tz", None) is not None:
            full = full.dt.tz_convert("UTC").dt.tz_localize(None)
    return full.where(parsed.notna()), mask


def to_utc(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(UTC datetime64, mask of present-but-unparseable values); zone-less values count as UTC."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = raw.dt.tz_localize("UTC") if raw.dt.tz is None else raw.dt.tz_convert("UTC")
    else:
        parsed = pd.to_datetime(raw.astype(object), errors="coerce", utc=True, format="ISO8601")
    return parsed, raw.notna() & parsed.isna()


def unparseable(checks: Mapping[str, tuple[pd.Series, pd.Series]], index: pd.Index) -> pd.Series:
    """Per row: "field='raw value', ..." for each present field that did not parse, else None."""
    out = pd.Series([None] * len(index), index=index, dtype=object)
    for col, (bad, raw) in checks.items():
        if not bad.any():
            continue
        text = raw[bad].map(lambda v, c=col: f"{c}={v!r}")
        prev = out[bad]
        out.loc[bad] = np.where(prev.isna(), text, prev.astype(str) + ", " + text)
    return out
