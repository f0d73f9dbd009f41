"""Report sections over the ingestion and pricing audit marts: errors by type
(rpt_error_rates), the callers' reported cost against the computed one
(rpt_cost_reconciliation), provider usage reports against the per-request data
(rpt_provider_reconciliation) and the landed files with rejected or conflicting rows
(rpt_landing_accounting). None of them has a team: they are left out of a filtered
report."""

from __future__ import annotations

from aiusage.reporting.period import ReportQuery
from aiusage.warehouse import fetch_rows, relation_exists


def _unfiltered(con, q: ReportQuery, mart: str) -> bool:
    return not q.filters and relation_exists(con, mart)


def error_types(con, q: ReportQuery) -> list[dict]:
    """Failed requests by outcome and error type per model over the period."""
    if not _unfiltered(con, q, "rpt_error_rates"):
        return []
    return fetch_rows(
        con,
        """
        select status, error_type, provider, model, sum(failed_requests) as failed_requests
        from rpt_error_rates
        where usage_date between ? and ?
        group by status, error_type, provider, model
        order by failed_requests desc, status, error_type, provider, model
        """,
        [q.window.start, q.window.end],
    )


def cost_reconciliation(con, q: ReportQuery) -> list[dict]:
    """Days and models of the period where the callers' reported cost drifts from the
    computed cost beyond the threshold (var reconciliation_drift_pct)."""
    if not _unfiltered(con, q, "rpt_cost_reconciliation"):
        return []
    return fetch_rows(
        con,
        """
        select usage_date, provider, model, reported_requests, reported_cost_usd,
               computed_cost_usd, drift_usd, drift_pct
        from rpt_cost_reconciliation
        where usage_date between ? and ? and is_drift_over_threshold
        order by abs(drift_usd) desc nulls last, usage_date, provider, model
        """,
        [q.window.start, q.window.end],
    )


def provider_reconciliation(con, q: ReportQuery) -> list[dict]:
    """Provider usage reports against the per-request data, per provider and model over the
    period: the requests, tokens and cost each side counts, and the gaps."""
    if not _unfiltered(con, q, "rpt_provider_reconciliation"):
        return []
    return fetch_rows(
        con,
        """
        select provider, model,
               sum(provider_requests) as provider_requests,
               sum(request_requests) as request_requests,
               sum(requests_gap) as requests_gap,
               sum(total_tokens_gap) as total_tokens_gap,
               sum(provider_cost_usd) as provider_cost_usd,
               sum(request_cost_usd) as request_cost_usd,
               sum(cost_gap_usd) as cost_gap_usd
        from rpt_provider_reconciliation
        where usage_date between ? and ?
        group by provider, model
        order by abs(sum(cost_gap_usd)) desc nulls last, provider, model
        """,
        [q.window.start, q.window.end],
    )


def landed_files(con, q: ReportQuery) -> list[dict]:
    """Files landed in the period that had rejected or conflicting duplicate rows."""
    if not _unfiltered(con, q, "rpt_landing_accounting"):
        return []
    return fetch_rows(
        con,
        """
        select landing_date, source_system, source_file, landed_rows, rejected_rows,
               conflicting_duplicate_rows, reject_rate
        from rpt_landing_accounting
        where landing_date between ? and ?
            and (rejected_rows > 0 or conflicting_duplicate_rows > 0)
        order by reject_rate desc, landing_date, source_file
        """,
        [q.window.start, q.window.end],
    )
