"""The period and the attribution filters of one report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta


@dataclass(frozen=True)
class ReportWindow:
    start: date
    end: date  # inclusive

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the period ends ({self.end}) before it starts ({self.start})")
        if self.days > 3660:
            raise ValueError("the period is longer than 3660 days")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> ReportWindow:
        return ReportWindow(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    @classmethod
    def last_days(cls, days: int, end: date) -> ReportWindow:
        if days < 1:
            raise ValueError("--last-days must be at least 1")
        return cls(end - timedelta(days=days - 1), end)


# Filter name -> column of fct_daily_usage. The only identifiers a filter can produce.
FILTER_COLUMNS = {"client": "client", "team": "team", "user": "user_id"}


@dataclass(frozen=True)
class ReportQuery:
    """The period and the attribution filters of one report."""

    window: ReportWindow
    filters: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.filters) - set(FILTER_COLUMNS)
        if unknown:
            raise ValueError(f"unknown report filter(s): {', '.join(sorted(unknown))}")

    def where(self, *, window: ReportWindow | None = None, date_column: str = "usage_date"):
        """SQL condition and parameters for the period and the filters on fct_daily_usage."""
        window = window or self.window
        clauses = [f"{date_column} between ? and ?"]
        params: list = [window.start, window.end]
        for name in sorted(self.filters):
            clauses.append(f"{FILTER_COLUMNS[name]} = ?")
            params.append(self.filters[name])
        return " and ".join(clauses), params


def report_window(last_days: int, start: date | None, end: date | None, default_end: date):
    """The period of `aiusage report`: --start-date/--end-date, else --last-days to end;
    without --end-date it ends on `default_end` (usage.period_end: the last usage day)."""
    start = start.date() if hasattr(start, "date") else start
    end = end.date() if hasattr(end, "date") else end
    if start is not None:
        return ReportWindow(start, end or default_end)
    return ReportWindow.last_days(last_days, end or default_end)
