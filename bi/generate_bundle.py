"""Write the Superset import bundle of the "AI usage" dashboard (bi/bundle/) from the marts'
dbt contracts (models/marts/*/_*.yml: every column with its data type) and the chart list
below. Run it after changing a chart or a mart's columns, and commit bi/bundle/:

    .venv/bin/python bi/generate_bundle.py

The bundle holds one database (the published snapshot; `make bi` fills in its path when it
imports the bundle), one physical dataset per mart (no SQL), the dataset metrics (the
semantic layer's definitions, models/semantic), the charts with their saved query context
(what /api/v1/chart/<id>/data/ runs) and the dashboard.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "bi" / "bundle"
NAMESPACE = uuid.UUID("6f1c1d52-7d0e-4d43-9a52-3a61c5b1e2a0")
DATABASE = "aiusage_published"
DASHBOARD = "AI usage"


def uid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


# The semantic layer's metrics that Superset shows over fct_daily_usage, compiled from
# models/semantic/_semantic__models.yml (semantic_metrics), so a metric means the same in
# the dashboard, the report and `mf query`.
SEMANTIC_METRICS = [
    "total_cost",
    "requests",
    "total_tokens",
    "active_users",
    "failed_requests",
    "error_rate",
    "unpriced_requests",
]
AGGREGATIONS = {"sum": "SUM({})", "count_distinct": "COUNT(DISTINCT {})", "max": "MAX({})"}

# Plain sums (or, for one row per key, the value) of the other marts the charts read.
METRICS = {
    "rpt_budget_status": [
        ("monthly_limit", "Monthly limit (USD)", "SUM(monthly_limit_usd)", "Budget of the month."),
        ("spent_mtd", "Spent this month (USD)", "SUM(spent_mtd_usd)", "Month-to-date cost."),
        (
            "forecast_month_end",
            "Forecast month end (USD)",
            "SUM(forecast_month_end_usd)",
            "Forecast cost at the end of the month.",
        ),
    ],
    "rpt_latency_percentiles": [
        ("latency_p50", "p50 latency (ms)", "MAX(latency_p50_ms)", "One row per key: the value."),
        ("latency_p95", "p95 latency (ms)", "MAX(latency_p95_ms)", "One row per key: the value."),
        ("latency_p99", "p99 latency (ms)", "MAX(latency_p99_ms)", "One row per key: the value."),
        ("latency_requests", "Requests", "SUM(requests)", "Requests behind the percentiles."),
    ],
    "rpt_error_rates": [
        ("failed_requests", "Failed requests", "SUM(failed_requests)", "Failed requests."),
    ],
    "rpt_savings_opportunities": [
        ("monthly_savings", "Monthly savings (USD)", "SUM(monthly_savings_usd)", "Estimated."),
    ],
    "rpt_unpriced_usage": [
        ("unpriced_requests", "Requests", "SUM(requests)", "Requests with no price."),
        ("unpriced_tokens", "Tokens", "SUM(total_tokens)", "Their tokens."),
    ],
}

# (key, title, mart, group by, metrics, filters [(column, operator, value)], width)
CHARTS = [
    (
        "daily_cost_by_model",
        "Daily cost by model",
        "fct_daily_usage",
        ["usage_date", "model"],
        ["total_cost", "requests"],
        [],
        12,
    ),
    (
        "cost_by_team_workflow",
        "Cost by team and workflow",
        "fct_daily_usage",
        ["team", "workflow"],
        ["total_cost", "requests", "active_users"],
        [],
        6,
    ),
    (
        "budgets_forecast",
        "Budgets with forecast (current month)",
        "rpt_budget_status",
        ["scope", "scope_id", "status", "forecast_status"],
        ["monthly_limit", "spent_mtd", "forecast_month_end"],
        [("is_current", "IS TRUE", None)],
        6,
    ),
    (
        "latency_percentiles",
        "Latency percentiles by day and model",
        "rpt_latency_percentiles",
        ["usage_date", "provider", "model"],
        ["latency_p50", "latency_p95", "latency_p99", "latency_requests"],
        [],
        6,
    ),
    (
        "error_rates",
        "Errors by model and type",
        "rpt_error_rates",
        ["provider", "model", "error_type"],
        ["failed_requests"],
        [],
        6,
    ),
    (
        "substitution",
        "Substitution opportunities",
        "rpt_savings_opportunities",
        ["opportunity_type", "workflow", "model", "candidate"],
        ["monthly_savings"],
        [],
        6,
    ),
    (
        "unpriced_usage",
        "Unpriced usage",
        "rpt_unpriced_usage",
        ["provider", "model", "unpriced_reason"],
        ["unpriced_requests", "unpriced_tokens"],
        [],
        6,
    ),
]

SUPERSET_TYPES = {
    "string": "VARCHAR",
    "date": "DATE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
}


def semantic_metrics(model_name: str = "daily_usage") -> list[tuple[str, str, str, str]]:
    """(name, label, SQL expression, description) of SEMANTIC_METRICS: simple metrics as
    their measure's aggregation, ratio metrics as numerator over denominator."""
    layer = yaml.safe_load((ROOT / "models" / "semantic" / "_semantic__models.yml").read_text())
    (model,) = [m for m in layer["semantic_models"] if m["name"] == model_name]
    measures = {m["name"]: m for m in model["measures"]}
    metrics = {m["name"]: m for m in layer["metrics"]}

    def sql(name: str) -> str:
        metric = metrics[name]
        params = metric["type_params"]
        if metric["type"] == "ratio":
            numerator, denominator = params["numerator"], params["denominator"]
            numerator = numerator["name"] if isinstance(numerator, dict) else numerator
            denominator = denominator["name"] if isinstance(denominator, dict) else denominator
            return f"CAST({sql(numerator)} AS DOUBLE) / NULLIF({sql(denominator)}, 0)"
        assert metric["type"] == "simple" and not metric.get("filter"), name
        measure = measures[params["measure"]]
        return AGGREGATIONS[measure["agg"]].format(measure.get("expr") or measure["name"])

    return [
        (
            name,
            metrics[name]["label"],
            sql(name),
            "Semantic layer metric " + name + ": " + " ".join(metrics[name]["description"].split()),
        )
        for name in SEMANTIC_METRICS
    ]


def contracts() -> dict[str, dict]:
    models = {}
    for path in sorted((ROOT / "models" / "marts").glob("*/_*.yml")):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            models[model["name"]] = model
    return models


def dataset(model: dict) -> dict:
    columns = []
    for column in model["columns"]:
        data_type = column.get("data_type", "string")
        columns.append(
            {
                "column_name": column["name"],
                "verbose_name": None,
                "is_dttm": data_type in {"date", "timestamp"},
                "is_active": True,
                "type": SUPERSET_TYPES.get(data_type, data_type.upper()),
                "groupby": True,
                "filterable": True,
                "expression": None,
                "description": " ".join(column.get("description", "").split()) or None,
                "python_date_format": None,
                "extra": {},
            }
        )
    name = model["name"]
    dttm = next((c["column_name"] for c in columns if c["is_dttm"]), None)
    return {
        "table_name": name,
        "main_dttm_col": dttm,
        "description": " ".join(model.get("description", "").split()),
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "schema": "main",
        "sql": None,
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": None,
        "uuid": uid("dataset", name),
        "metrics": [
            {
                "metric_name": metric,
                "verbose_name": label,
                "metric_type": None,
                "expression": expression,
                "description": description,
                "d3format": None,
                "extra": {},
                "warning_text": None,
            }
            for metric, label, expression, description in (
                semantic_metrics() if name == "fct_daily_usage" else METRICS.get(name, [])
            )
        ],
        "columns": columns,
        "version": "1.0.0",
        "database_uuid": uid("database", DATABASE),
    }


def chart(key, title, mart, groupby, metrics, filters) -> dict:
    adhoc = [
        {
            "expressionType": "SIMPLE",
            "subject": column,
            "operator": operator,
            "comparator": value,
            "clause": "WHERE",
        }
        for column, operator, value in filters
    ]
    params = {
        "viz_type": "table",
        "query_mode": "aggregate",
        "groupby": groupby,
        "metrics": metrics,
        "all_columns": [],
        "percent_metrics": [],
        "adhoc_filters": adhoc,
        "order_by_cols": [],
        "row_limit": 10000,
        "server_page_length": 50,
        "order_desc": True,
        "table_timestamp_format": "smart_date",
        "show_cell_bars": False,
        "color_pn": True,
        "time_range": "No filter",
        "extra_form_data": {},
        "dashboards": [],
    }
    query = {
        "filters": [
            {"col": column, "op": operator, **({} if value is None else {"val": value})}
            for column, operator, value in filters
        ],
        "extras": {"having": "", "where": ""},
        "applied_time_extras": {},
        "columns": groupby,
        "metrics": metrics,
        "orderby": [[metrics[0], False]],
        "annotation_layers": [],
        "row_limit": 10000,
        "series_limit": 0,
        "order_desc": True,
        "url_params": {},
        "custom_params": {},
        "custom_form_data": {},
        "post_processing": [],
        "time_range": "No filter",
    }
    context = {
        "datasource": {"id": 0, "type": "table"},
        "force": False,
        "queries": [query],
        "form_data": params,
        "result_format": "json",
        "result_type": "full",
    }
    return {
        "slice_name": title,
        "description": None,
        "certified_by": None,
        "certification_details": None,
        "viz_type": "table",
        "params": params,
        "query_context": json.dumps(context),
        "cache_timeout": None,
        "uuid": uid("chart", key),
        "version": "1.0.0",
        "dataset_uuid": uid("dataset", mart),
    }


def dashboard(charts: list[tuple]) -> dict:
    position = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": DASHBOARD}},
    }
    rows: list[list[tuple]] = []
    width = 12
    for spec in charts:
        if width + spec[6] > 12:
            rows.append([])
            width = 0
        rows[-1].append(spec)
        width += spec[6]
    for number, row in enumerate(rows):
        row_id = f"ROW-{number}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {
            "type": "ROW",
            "id": row_id,
            "children": [],
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        for spec in row:
            chart_id = f"CHART-{spec[0]}"
            position[row_id]["children"].append(chart_id)
            position[chart_id] = {
                "type": "CHART",
                "id": chart_id,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "meta": {
                    "width": spec[6],
                    "height": 60,
                    "chartId": 0,
                    "sliceName": spec[1],
                    "uuid": uid("chart", spec[0]),
                },
            }
    return {
        "dashboard_title": DASHBOARD,
        "description": None,
        "css": "",
        "slug": "ai-usage",
        "certified_by": None,
        "certification_details": None,
        "published": True,
        "uuid": uid("dashboard", DASHBOARD),
        "position": position,
        "metadata": {
            "color_scheme": "",
            "refresh_frequency": 0,
            "expanded_slices": {},
            "label_colors": {},
            "timed_refresh_immune_slices": [],
            "cross_filters_enabled": False,
            "default_filters": "{}",
            "chart_configuration": {},
            "native_filter_configuration": [],
        },
        "version": "1.0.0",
    }


def database() -> dict:
    return {
        "database_name": DATABASE,
        # `make bi` writes the absolute path of data/published/current.duckdb here when it
        # imports the bundle (bi/provision.py)
        "sqlalchemy_uri": "duckdb:///CURRENT_SNAPSHOT",
        "cache_timeout": None,
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": False,
        "allow_file_upload": False,
        "extra": {"engine_params": {"connect_args": {"read_only": True}}},
        "uuid": uid("database", DATABASE),
        "version": "1.0.0",
    }


def write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(text, encoding="utf-8")


def main(bundle: Path = BUNDLE) -> None:
    models = contracts()
    if bundle.exists():
        for old in sorted(bundle.rglob("*.yaml")):
            old.unlink()
    write(
        bundle / "metadata.yaml",
        {"version": "1.0.0", "type": "Dashboard", "timestamp": "2026-11-30T00:00:00+00:00"},
    )
    write(bundle / "databases" / f"{DATABASE}.yaml", database())
    for mart in sorted({spec[2] for spec in CHARTS}):
        write(bundle / "datasets" / DATABASE / f"{mart}.yaml", dataset(models[mart]))
    for spec in CHARTS:
        write(bundle / "charts" / f"{spec[0]}.yaml", chart(*spec[:6]))
    write(bundle / "dashboards" / "ai_usage.yaml", dashboard(CHARTS))


if __name__ == "__main__":
    main()
