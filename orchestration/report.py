"""The usage report, read from the published marts (never from raw events)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class ReportWindow:
    start: date
    end: date  # inclusive

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


def connect_readonly(duckdb_path: Path) -> duckdb.DuckDBPyConnection:
    if not duckdb_path.exists():
        raise FileNotFoundError(
            f"No warehouse at {duckdb_path}: run `aiusage build` (or `aiusage demo`) first."
        )
    return duckdb.connect(str(duckdb_path), read_only=True)


def _rows(con, sql: str, params: list) -> list[dict]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


SUMMARY_SQL = """
    select
        coalesce(sum(requests), 0) as requests,
        coalesce(sum(successful_requests), 0) as successful_requests,
        coalesce(sum(input_tokens), 0) as input_tokens,
        coalesce(sum(output_tokens), 0) as output_tokens,
        coalesce(sum(total_tokens), 0) as total_tokens,
        coalesce(sum(total_cost_usd), 0) as total_cost_usd,
        coalesce(sum(unpriced_requests), 0) as unpriced_requests
    from fct_daily_usage
    where usage_date between ? and ?
"""


def summary(con, window: ReportWindow) -> dict:
    current = _rows(con, SUMMARY_SQL, [window.start, window.end])[0]
    previous = _rows(con, SUMMARY_SQL, [window.previous().start, window.previous().end])[0]
    requests = current["requests"]
    current["cost_per_request_usd"] = (
        current["total_cost_usd"] / requests if requests else Decimal(0)
    )
    current["success_rate"] = current["successful_requests"] / requests if requests else None
    current["previous_total_cost_usd"] = previous["total_cost_usd"]
    current["cost_change_pct"] = (
        float((current["total_cost_usd"] - previous["total_cost_usd"]) / previous["total_cost_usd"])
        * 100
        if previous["total_cost_usd"]
        else None
    )
    return current


def cost_by_team(con, window: ReportWindow) -> list[dict]:
    return _rows(
        con,
        """
        select
            team,
            sum(total_cost_usd) as total_cost_usd,
            sum(requests) as requests,
            sum(total_tokens) as total_tokens,
            sum(quality_score_sum) / nullif(sum(scored_requests), 0) as avg_quality_score
        from rpt_cost_by_team
        where usage_date between ? and ?
        group by team
        order by total_cost_usd desc nulls last, team
        """,
        [window.start, window.end],
    )


def cost_by_model(con, window: ReportWindow) -> list[dict]:
    return _rows(
        con,
        """
        select
            provider,
            model,
            sum(total_cost_usd) as total_cost_usd,
            sum(requests) as requests,
            sum(total_tokens) as total_tokens,
            sum(unpriced_requests) as unpriced_requests
        from fct_daily_usage
        where usage_date between ? and ?
        group by provider, model
        order by total_cost_usd desc nulls last, provider, model
        """,
        [window.start, window.end],
    )


def cost_by_day(con, window: ReportWindow) -> list[dict]:
    return _rows(
        con,
        """
        select
            usage_date,
            sum(total_cost_usd) as total_cost_usd,
            sum(requests) as requests,
            count(distinct team) as active_teams
        from fct_daily_usage
        where usage_date between ? and ?
        group by usage_date
        order by usage_date
        """,
        [window.start, window.end],
    )


def unpriced_usage(con, window: ReportWindow) -> list[dict]:
    return _rows(
        con,
        """
        select
            provider,
            model,
            string_agg(distinct unpriced_reason, ', ' order by unpriced_reason) as reasons,
            sum(requests) as requests,
            sum(total_tokens) as total_tokens,
            min(first_seen_at) as first_seen_at,
            max(last_seen_at) as last_seen_at
        from rpt_unpriced_usage
        where usage_date between ? and ?
        group by provider, model
        order by requests desc, provider, model
        """,
        [window.start, window.end],
    )


def rejected_lines(con, window: ReportWindow) -> list[dict]:
    return _rows(
        con,
        """
        select rejection_reason, count(*) as lines
        from fct_rejected_events
        where landing_date between ? and ?
        group by rejection_reason
        order by lines desc, rejection_reason
        """,
        [window.start, window.end],
    )


ANOMALY_LOOKBACK_DAYS = 30


def _has_table(con, name: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_name = ?", [name]
        ).fetchone()[0]
    )


def budget_status(con, window: ReportWindow) -> list[dict]:
    """Each budget as it stood at the end of the report period (rpt_budget_status)."""
    if not _has_table(con, "rpt_budget_status"):
        return []
    return _rows(
        con,
        """
        select scope, scope_id, as_of_date, monthly_limit_usd, spent_mtd_usd, utilization,
               forecast_month_end_usd, forecast_utilization, status, forecast_status
        from rpt_budget_status
        where as_of_date = (select max(as_of_date) from rpt_budget_status where as_of_date <= ?)
        order by forecast_utilization desc, scope, scope_id
        """,
        [window.end],
    )


def cost_anomalies(con, window: ReportWindow) -> list[dict]:
    """Flagged cost / token anomalies of the ANOMALY_LOOKBACK_DAYS days ending with the period."""
    if not _has_table(con, "rpt_cost_anomalies"):
        return []
    return _rows(
        con,
        """
        select usage_date, scope_type, scope_id, metric, metric_value, trailing_mean,
               ratio_to_mean, z_score
        from rpt_cost_anomalies
        where is_anomaly and usage_date between ? and ?
        order by usage_date desc, metric, scope_type, scope_id
        """,
        [window.end - timedelta(days=ANOMALY_LOOKBACK_DAYS - 1), window.end],
    )


def alerts(con) -> list[dict]:
    if not _has_table(con, "rpt_alerts"):
        return []
    return _rows(
        con,
        """
        select as_of_date, alert_type, scope_type, scope_id, severity, measured_value,
               threshold_value, unit, message
        from rpt_alerts
        order by severity_rank desc, alert_type, scope_type, scope_id
        """,
        [],
    )


def build_report(duckdb_path: Path, window: ReportWindow, currency: str = "USD") -> dict:
    with connect_readonly(duckdb_path) as con:
        report = {
            "report_version": 1,
            "period": {"start": window.start, "end": window.end, "days": window.days},
            "summary": summary(con, window),
            "by_team": cost_by_team(con, window),
            "by_model": cost_by_model(con, window),
            "by_day": cost_by_day(con, window),
            "budgets": budget_status(con, window),
            "anomalies": cost_anomalies(con, window),
            "alerts": alerts(con),
            "warnings": {
                "unpriced_usage": unpriced_usage(con, window),
                "rejected_lines": rejected_lines(con, window),
            },
        }
        if currency.upper() != "USD":
            from orchestration.pricing import fx_rate

            rate, valid_from = fx_rate(con, currency, window.end)
            report = convert_currency(report, currency.upper(), rate, valid_from)
        return report


def convert_currency(report: dict, currency: str, rate: Decimal, valid_from: date) -> dict:
    """Every money field (``*_usd``) converted at ``rate`` and renamed ``*_<currency>``; the
    report is stamped with the currency, the rate and the day it became valid."""
    suffix = "_" + currency.lower()

    def convert(value):
        if isinstance(value, dict):
            return {
                (k[: -len("_usd")] + suffix if k.endswith("_usd") else k): (
                    (None if v is None else Decimal(v) * rate) if k.endswith("_usd") else convert(v)
                )
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    converted = convert(report)
    converted["currency"] = {"code": currency, "usd_rate": rate, "rate_valid_from": valid_from}
    return converted


def _money(value, currency: str = "USD") -> str:
    """Display rounding only (the marts keep 12 decimals)."""
    if value is None:
        return "n/a"
    return f"${Decimal(value):,.2f}" if currency == "USD" else f"{currency} {Decimal(value):,.2f}"


def render_text(report: dict) -> str:
    stamp = report.get("currency")
    code = stamp["code"] if stamp else "USD"
    sfx = "_" + code.lower() if stamp else "_usd"
    report = {
        **report,
        "summary": {k.replace(sfx, "_usd"): v for k, v in report["summary"].items()},
        "by_team": [{k.replace(sfx, "_usd"): v for k, v in r.items()} for r in report["by_team"]],
        "by_model": [
            {k.replace(sfx, "_usd"): v for k, v in r.items()} for r in report["by_model"]
        ],
        "by_day": [{k.replace(sfx, "_usd"): v for k, v in r.items()} for r in report["by_day"]],
    }

    def money(value) -> str:
        return _money(value, code)

    s = report["summary"]
    period = report["period"]
    change = (
        "n/a (no cost in the previous period)"
        if s["cost_change_pct"] is None
        else f"{s['cost_change_pct']:+.1f}% vs previous {period['days']} days"
    )
    success = "n/a" if s["success_rate"] is None else f"{s['success_rate'] * 100:.1f}%"
    lines = [
        "=" * 72,
        f"AI USAGE REPORT  {period['start']} .. {period['end']} ({period['days']} days)",
        "=" * 72,
        *(
            [f"Currency: {code} (1 USD = {Decimal(stamp['usd_rate']).normalize():f} {code}, "
             f"rate valid from "
             f"{stamp['rate_valid_from']})"]
            if stamp
            else []
        ),
        "",
        "SUMMARY",
        f"  Requests:          {s['requests']:,}",
        f"  Tokens:            {s['total_tokens']:,} "
        f"(input {s['input_tokens']:,}, output {s['output_tokens']:,})",
        f"  Cost:              {money(s['total_cost_usd'])}  ({change})",
        f"  Cost per request:  {'$' if code == 'USD' else code + ' '}"
        f"{Decimal(s['cost_per_request_usd']):.6f}",
        f"  Success rate:      {success}",
        "",
        "COST BY TEAM",
    ]
    for row in report["by_team"]:
        quality = (
            "" if row["avg_quality_score"] is None else f", avg quality {row['avg_quality_score']:.2f}"
        )
        lines.append(
            f"  {row['team']:<24} {money(row['total_cost_usd']):>12}  "
            f"{row['requests']:>9,} requests{quality}"
        )
    lines += ["", "COST BY MODEL"]
    for row in report["by_model"]:
        lines.append(
            f"  {row['provider'] + '/' + row['model']:<36} {money(row['total_cost_usd']):>12}  "
            f"{row['requests']:>9,} requests"
        )
    lines += ["", "BY DAY"]
    for row in report["by_day"]:
        lines.append(
            f"  {row['usage_date']}  {money(row['total_cost_usd']):>12}  "
            f"{row['requests']:>8,} requests  {row['active_teams']} teams"
        )
    lines += _budget_lines(report.get("budgets", []))
    lines += _anomaly_lines(report.get("anomalies", []))
    lines += _alert_lines(report.get("alerts", []))
    unpriced = report["warnings"]["unpriced_usage"]
    rejected = report["warnings"]["rejected_lines"]
    lines += ["", "WARNINGS"]
    if not unpriced and not rejected:
        lines.append("  none")
    for row in unpriced:
        lines.append(
            f"  UNPRICED: {row['requests']:,} requests of {row['provider']}/{row['model']} "
            f"have no price ({row['reasons']}; cost not included; add a row to "
            "seeds/model_prices.csv or seeds/model_aliases.csv; see rpt_unpriced_usage)"
        )
    for row in rejected:
        lines.append(
            f"  REJECTED: {row['lines']:,} landed lines ({row['rejection_reason']}); "
            "see fct_rejected_events"
        )
    return "\n".join(lines) + "\n"


def _budget_lines(budgets: list[dict]) -> list[str]:
    if not budgets:
        return []
    lines = ["", f"BUDGETS (month to date as of {budgets[0]['as_of_date']}, month-end forecast)"]
    for row in budgets:
        lines.append(
            f"  {row['scope'] + ' ' + row['scope_id']:<30} {_money(row['spent_mtd_usd']):>10} "
            f"of {_money(row['monthly_limit_usd']):>9} ({row['utilization'] * 100:5.1f}%, "
            f"{row['status']})  forecast {_money(row['forecast_month_end_usd'])} "
            f"({row['forecast_utilization'] * 100:.0f}%, {row['forecast_status']})"
        )
    return lines


def _anomaly_lines(anomalies: list[dict]) -> list[str]:
    lines = ["", f"ANOMALIES (last {ANOMALY_LOOKBACK_DAYS} days)"]
    if not anomalies:
        return [*lines, "  none"]
    for row in anomalies:
        value = (
            _money(row["metric_value"])
            if row["metric"] == "cost_usd"
            else f"{int(row['metric_value']):,} tokens"
        )
        z = "flat history" if row["z_score"] is None else f"z {row['z_score']:.1f}"
        lines.append(
            f"  {row['usage_date']}  {row['scope_type']} {row['scope_id']:<24} {value:>16} "
            f"= {row['ratio_to_mean']:.1f}x its trailing mean ({z})"
        )
    return lines


def _alert_lines(alert_rows: list[dict]) -> list[str]:
    lines = ["", "ALERTS" + (f" (as of {alert_rows[0]['as_of_date']})" if alert_rows else "")]
    if not alert_rows:
        return [*lines, "  none"]
    return [*lines, *(f"  {row['severity'].upper():<8} {row['message']}" for row in alert_rows)]


def _json_default(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def render_json(report: dict) -> str:
    return json.dumps(report, default=_json_default, indent=2, sort_keys=False) + "\n"
