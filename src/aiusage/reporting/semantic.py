"""The dbt semantic layer (models/semantic/) as the one definition of the report's metrics.

The semantic models and metrics are YAML in the dbt project; `dbt parse` writes them to
target/semantic_manifest.json, and publish copies that file into each snapshot, beside the
DuckDB file it describes. The report, the API and the dashboard read a metric by compiling
its definition to SQL here, so a figure such as the cost per request or the success rate is
defined once, for them, for MetricFlow (`mf query`) and for any BI tool that reads the
semantic layer.

What compiles: simple metrics over one semantic model's measures (agg sum, count,
count_distinct, min, max, average, percentile with its `agg_params`; a measure's `expr`;
`fill_nulls_with`; a metric `filter` made of `{{ Dimension('<entity>__<dimension>') }}`
conditions on the model's own dimensions, applied to the aggregate as MetricFlow applies it
to the metric's rows) and ratio metrics of two such metrics, grouped by the model's
categorical dimensions and its time dimension, filtered by the caller's bound conditions.
Derived and cumulative metrics are MetricFlow's; asking for them here is an error naming the
metric.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SEMANTIC_MANIFEST = "semantic_manifest.json"
AGGREGATES = {
    "sum": "sum({})",
    "count": "count({})",
    "count_distinct": "count(distinct {})",
    "min": "min({})",
    "max": "max({})",
    "average": "avg({})",
}


#: `{{ Dimension('entity__name') }}` in a metric filter (MetricFlow's Jinja), or a
#: TimeDimension on day grain.
DIMENSION_REFERENCE = re.compile(
    r"\{\{\s*(?:Dimension|TimeDimension)\(\s*'(?:[a-z0-9_]+__)?([a-z0-9_]+)'"
    r"(?:\s*,\s*'day')?\s*\)\s*\}\}"
)


class SemanticError(ValueError):
    """A metric or dimension the semantic layer does not define, or cannot compile here."""


@dataclass(frozen=True)
class SemanticModel:
    name: str
    relation: str  # the table's name in the warehouse (the model's alias)
    dimensions: frozenset[str]
    time_dimension: str
    measures: dict[str, dict]


@dataclass(frozen=True)
class SemanticLayer:
    models: dict[str, SemanticModel]
    metrics: dict[str, dict]

    @classmethod
    def from_manifest(cls, manifest: dict) -> SemanticLayer:
        models = {}
        for model in manifest["semantic_models"]:
            dimensions = {d["name"]: d for d in model.get("dimensions") or []}
            time = (model.get("defaults") or {}).get("agg_time_dimension") or next(
                (name for name, d in dimensions.items() if d["type"] == "time"), ""
            )
            models[model["name"]] = SemanticModel(
                name=model["name"],
                relation=model["node_relation"]["alias"],
                dimensions=frozenset(dimensions),
                time_dimension=time,
                measures={m["name"]: m for m in model.get("measures") or []},
            )
        return cls(models, {m["name"]: m for m in manifest["metrics"]})

    def _measure(self, metric_name: str) -> tuple[SemanticModel, dict, dict]:
        metric = self.metrics.get(metric_name)
        if metric is None:
            raise SemanticError(f"no metric {metric_name!r} in the semantic layer")
        if metric["type"] != "simple":
            raise SemanticError(f"metric {metric_name!r} is {metric['type']}, not simple")
        reference = metric["type_params"]["measure"]
        for model in self.models.values():
            if reference["name"] in model.measures:
                return model, model.measures[reference["name"]], reference
        raise SemanticError(f"metric {metric_name!r}: no measure {reference['name']!r}")

    def model_of(self, metric_name: str) -> SemanticModel:
        metric = self.metrics.get(metric_name)
        if metric is not None and metric["type"] == "ratio":
            return self.model_of(metric["type_params"]["numerator"]["name"])
        return self._measure(metric_name)[0]

    def expression(self, metric_name: str) -> str:
        """The SQL aggregate of one metric over its semantic model's rows."""
        metric = self.metrics.get(metric_name)
        if metric is None:
            raise SemanticError(f"no metric {metric_name!r} in the semantic layer")
        if metric["type"] == "ratio":
            params = metric["type_params"]
            numerator = self.expression(params["numerator"]["name"])
            denominator = self.expression(params["denominator"]["name"])
            return f"cast({numerator} as double) / nullif(cast({denominator} as double), 0)"
        model, measure, reference = self._measure(metric_name)
        value = f"({measure.get('expr') or measure['name']})"
        if measure["agg"] == "percentile":
            params = measure.get("agg_params") or {}
            function = "quantile_disc" if params.get("use_discrete_percentile") else "quantile_cont"
            sql = f"{function}({value}, {float(params['percentile'])!r})"
        elif measure["agg"] in AGGREGATES:
            sql = AGGREGATES[measure["agg"]].format(value)
        else:
            raise SemanticError(
                f"metric {metric_name!r} aggregates with {measure['agg']}: query it with "
                "MetricFlow (`mf query`), not the report"
            )
        condition = self._filter(metric_name, model)
        if condition:
            sql = f"{sql} filter (where {condition})"
        if reference.get("fill_nulls_with") is not None:
            sql = f"coalesce({sql}, {reference['fill_nulls_with']})"
        return sql

    def _filter(self, metric_name: str, model: SemanticModel) -> str | None:
        """The metric's `filter` as SQL over its model's columns: each Dimension reference
        becomes the dimension's column; a dimension the model does not have is an error."""
        where = (self.metrics[metric_name].get("filter") or {}).get("where_filters") or []
        conditions = []
        for item in where:
            text = item["where_sql_template"]

            def column(match: re.Match) -> str:
                name = match.group(1)
                if name not in model.dimensions:
                    raise SemanticError(
                        f"metric {metric_name!r} filters on {name!r}, not a dimension of "
                        f"{model.name}"
                    )
                return name

            conditions.append(f"({DIMENSION_REFERENCE.sub(column, text)})")
        return " and ".join(conditions) or None

    def select(
        self,
        metrics: list[str] | dict[str, str],
        group_by: list[str] = (),
        where: str = "true",
        order_by: str | None = None,
        nonzero: str | None = None,
    ) -> str:
        """`select <group_by>, <metric> as <column>... from <model> where <where> group by ...`
        for metrics of one semantic model; `metrics` is a list of metric names, or
        {column: metric} to name the columns. `where` holds only `?` placeholders for
        values; dimension names are checked against the model. `nonzero` (a metric) keeps
        the groups where that metric is above zero."""
        if not isinstance(metrics, dict):
            metrics = {name: name for name in metrics}
        models = {self.model_of(name).name for name in metrics.values()}
        if len(models) != 1:
            raise SemanticError(f"metrics {metrics} span semantic models {sorted(models)}")
        model = self.models[models.pop()]
        unknown = [d for d in group_by if d not in model.dimensions]
        if unknown:
            raise SemanticError(f"{model.name} has no dimension(s) {unknown}")
        columns = [*group_by, *(f"{self.expression(m)} as {c}" for c, m in metrics.items())]
        sql = f"select {', '.join(columns)} from {model.relation} where {where}"
        if group_by:
            sql += f" group by {', '.join(group_by)}"
        if nonzero:
            sql += f" having coalesce({self.expression(nonzero)}, 0) > 0"
        if order_by:
            sql += f" order by {order_by}"
        return sql


@lru_cache(maxsize=16)
def _load(path: str, mtime_ns: int) -> SemanticLayer:
    return SemanticLayer.from_manifest(json.loads(Path(path).read_text(encoding="utf-8")))


def load_semantic_layer(path: Path) -> SemanticLayer:
    """The semantic layer of a semantic_manifest.json (cached while the file is unchanged)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No semantic layer at {path}: run `dbt parse` (or `aiusage build`) first."
        )
    return _load(str(path), path.stat().st_mtime_ns)


def semantic_manifest_for(duckdb_path: Path, project_target: Path) -> Path:
    """The semantic definitions of a warehouse file: those published beside it (a snapshot
    carries the definitions it was built with), else the dbt project's target folder."""
    beside = Path(duckdb_path).with_name(SEMANTIC_MANIFEST)
    return beside if beside.is_file() else Path(project_target) / SEMANTIC_MANIFEST


def semantic_layer_of(con) -> SemanticLayer:
    """The semantic layer of the warehouse a connection reads (see semantic_manifest_for)."""
    from aiusage.settings import Settings

    (path,) = con.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchone()
    project_target = Settings.from_env().target_dir
    if not path:
        return load_semantic_layer(project_target / SEMANTIC_MANIFEST)
    return load_semantic_layer(semantic_manifest_for(Path(path), project_target))
