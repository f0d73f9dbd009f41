"""House conventions (STYLE.md) as dbt-score rules, run by `make lint` on the dbt manifest.

dbt-project-evaluator cannot be installed here (no dbt package hub), so its rules that
matter to this project are written as dbt-score rules: names by layer, primary keys tested,
only staging reads sources, enforced contracts on marts, freshness on every source.
Descriptions of models and columns come from dbt-score's own generic rules.
"""

import re

from dbt_score import Model, RuleViolation, Severity, Source, rule

NAME_BY_LAYER = {
    "staging": re.compile(r"^stg_[a-z0-9]+__[a-z0-9_]+s$"),
    "intermediate": re.compile(r"^int_[a-z0-9_]+s_[a-z0-9]+ed$"),
    "marts": re.compile(r"^(fct|dim|rpt)_[a-z0-9_]+$"),
}
NAME_HELP = {
    "staging": "stg_<source>__<entity>s",
    "intermediate": "int_<entity>s_<verb>ed",
    "marts": "fct_<event>s, dim_<entity>s or rpt_<report>",
}


def layer(model: Model) -> str | None:
    """models/<layer>/<sub>/<name>.sql -> layer."""
    parts = model.original_file_path.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "models" else None


@rule(severity=Severity.HIGH)
def model_in_a_layer_folder(model: Model) -> RuleViolation | None:
    """A model lives in models/<staging|intermediate|marts>/<source or domain>/."""
    parts = model.original_file_path.split("/")
    if layer(model) not in NAME_BY_LAYER or len(parts) != 4:
        return RuleViolation(
            message=f"{model.original_file_path} is not under models/<layer>/<folder>/."
        )
    return None


@rule(severity=Severity.HIGH)
def model_name_matches_layer(model: Model) -> RuleViolation | None:
    """A model's name follows its layer: stg_<source>__<entity>s, int_<entity>s_<verb>ed,
    fct_/dim_/rpt_."""
    current = layer(model)
    pattern = NAME_BY_LAYER.get(current or "")
    if pattern and not pattern.match(model.name):
        return RuleViolation(message=f"{current} model should be named {NAME_HELP[current]}.")
    return None


@rule(severity=Severity.HIGH)
def only_staging_reads_sources(model: Model) -> RuleViolation | None:
    """Only staging models call source(); staging models call nothing else."""
    nodes = (model.depends_on or {}).get("nodes", [])
    sources = [n for n in nodes if n.startswith("source.")]
    refs = [n for n in nodes if n.startswith("model.")]
    if sources and layer(model) != "staging":
        return RuleViolation(message=f"{layer(model)} model reads a source: {sources[0]}.")
    if layer(model) == "staging" and refs:
        return RuleViolation(message=f"staging model refs another model: {refs[0]}.")
    return None


def _key_kinds(model: Model, column) -> set[str]:
    """The tests (and, under an enforced contract, the constraints) of a column."""
    kinds = {test.type for test in column.tests}
    if (model.config.get("contract") or {}).get("enforced"):
        kinds |= {str(constraint.type) for constraint in column.constraints}
    return kinds


def _is_tested_key(kinds: set[str]) -> bool:
    return "primary_key" in kinds or {"unique", "not_null"} <= kinds


def _descendants(model: Model):
    """Every model downstream of `model` (dbt-score's children, transitively)."""
    seen, stack = set(), list(model.children)
    while stack:
        child = stack.pop()
        if isinstance(child, Model) and child.unique_id not in seen:
            seen.add(child.unique_id)
            yield child
            stack.extend(child.children)


def _tested_downstream(model: Model, target: str) -> bool:
    """`target` ("<model>.<column>") names a model downstream of `model` whose column is
    tested unique (a primary_key or unique test, or a unique constraint)."""
    name, _, column_name = str(target).partition(".")
    for child in _descendants(model):
        if child.name != name:
            continue
        for column in child.columns:
            if column.name == column_name:
                kinds = _key_kinds(child, column)
                return "primary_key" in kinds or "unique" in kinds
    return False


@rule(severity=Severity.HIGH)
def primary_key_tested(model: Model) -> RuleViolation | None:
    """A model has a column tested unique and not null (its primary key): a primary_key
    data test (macros/tests/primary_key.sql), unique and not_null data tests or, on a
    mart with an enforced contract, unique and not_null constraints (the engine rejects
    the row at write time). A view whose rows are stored downstream with the same key may
    name that test instead (column meta `key_tested_by: <model>.<column>`), which must be
    a model downstream of it whose column is tested unique: its own test would read the
    same rows once more (docs/ingestion.md)."""
    for column in model.columns:
        if _is_tested_key(_key_kinds(model, column)):
            return None
    declared = [
        column.meta["key_tested_by"]
        for column in model.columns
        if (column.meta or {}).get("key_tested_by")
    ]
    if declared and model.config.get("materialized") == "view":
        for target in declared:
            if not _tested_downstream(model, target):
                return RuleViolation(
                    message=f"key_tested_by {target}: not a column tested unique downstream."
                )
        return None
    return RuleViolation(message="No column is tested unique and not null.")


@rule(severity=Severity.HIGH)
def mart_contract_enforced(model: Model) -> RuleViolation | None:
    """A mart has an enforced contract with a data_type on every column."""
    if layer(model) != "marts" or model.config.get("materialized") == "ephemeral":
        return None
    if not (model.config.get("contract") or {}).get("enforced"):
        return RuleViolation(message="Mart contract is not enforced.")
    untyped = [c.name for c in model.columns if not c.data_type]
    if untyped:
        return RuleViolation(message=f"Columns without data_type: {', '.join(untyped[:5])}.")
    return None


@rule(severity=Severity.HIGH)
def source_has_freshness(source: Source) -> RuleViolation | None:
    """Every source table has loaded_at_field and a freshness (warn or error) threshold."""
    raw = source._raw_values  # dbt-score exposes no loaded_at_field attribute
    loaded_at = raw.get("loaded_at_field") or (source.config or {}).get("loaded_at_field")
    freshness = source.freshness or (source.config or {}).get("freshness") or {}
    if not isinstance(freshness, dict):  # a SourceFreshness dataclass
        freshness = {k: vars(v) for k, v in vars(freshness).items() if hasattr(v, "count")}
    has_threshold = any(
        (freshness.get(name) or {}).get("count") for name in ("warn_after", "error_after")
    )
    if not loaded_at or not has_threshold:
        return RuleViolation(message="Source lacks loaded_at_field and freshness.")
    return None


@rule
def source_has_description(source: Source) -> RuleViolation | None:
    """Every source table has a description."""
    if not source.description:
        return RuleViolation(message="Source lacks a description.")
    return None
