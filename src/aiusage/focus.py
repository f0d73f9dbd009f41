"""`aiusage export focus`: the warehouse's priced usage as FOCUS 1.2 cost and usage rows
(FinOps Open Cost and Usage Specification), for FinOps tools.

Read from the marts (`fct_llm_requests` of a built warehouse): one row per charge period
(a UTC day, `usage_date`) x provider x model x price row (``price_valid_from``), service
tier and long-context tier x token class (uncached input, cache read, cache write, output)
x team x workflow x user. Money is the warehouse's cost of record (``total_cost_usd``, split
by its components): BilledCost = EffectiveCost = ListCost = ContractedCost (list prices, no
negotiated discount is known to the warehouse), so the BilledCost total of an export is the
warehouse's cost for the period to the 12th decimal. Unpriced requests are left out and
counted (`FocusExport.unpriced_requests`), never exported at $0.

Documented column by column in docs/ingestion.md (FOCUS export), with the FOCUS 1.3
columns the rows carry the values for.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from aiusage.errors import AiusageError
from aiusage.warehouse import connect_readonly, relation_exists

FOCUS_VERSIONS = ("1.2",)
PRICING_UNIT_TOKENS = 1_000_000
PRICING_UNIT = "1000000 Tokens"
QUANTUM = Decimal("0.000000000001")  # 12 decimals: the warehouse's money scale

# token class: (tokens column, cost column, SkuMeter, TokenDirection, TokenCacheAction)
TOKEN_CLASSES = {
    "input": ("uncached_input_tokens", "input_cost_usd", "Input Tokens", "Input", "Uncached"),
    "cached-input": (
        "cache_read_tokens",
        "cache_read_cost_usd",
        "Cache Read Input Tokens",
        "Input",
        "Read",
    ),  # fmt: skip
    "cache-write": (
        "cache_write_tokens",
        "cache_write_cost_usd",
        "Cache Write Input Tokens",
        "Input",
        "Write",
    ),  # fmt: skip
    "output": ("output_tokens", "output_cost_usd", "Output Tokens", "Output", None),
}

PROVIDER_NAMES = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "google": "Google",
    "azure": "Microsoft",
    "bedrock": "Amazon Web Services",
    "mistral": "Mistral AI",
    "cohere": "Cohere",
    "deepseek": "DeepSeek",
    "xai": "xAI",
    "groq": "Groq",
    "openrouter": "OpenRouter",
}

COLUMNS = (
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceId",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingCurrency",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
    "Tags",
)


class ExportError(AiusageError):
    """An export that cannot be written (no warehouse, an unknown version or extension)."""


@dataclass
class FocusExport:
    rows: list[dict]
    requests: int  # priced requests exported
    unpriced_requests: int  # left out
    unpriced_tokens: int
    billed_cost: Decimal  # total BilledCost of the rows


GROUPED_SQL = """
select
    usage_date,
    provider,
    model,
    price_valid_from,
    coalesce(service_tier, 'standard') as service_tier,
    coalesce(is_long_context_tier, false) as is_long_context_tier,
    team,
    workflow,
    user_id,
    count(*) as requests,
    {sums}
from fct_llm_requests
where is_priced and usage_date between ? and ?
group by all
order by all
"""

UNPRICED_SQL = """
select count(*), coalesce(sum(total_tokens), 0)
from fct_llm_requests
where not is_priced and usage_date between ? and ?
"""


def _display(provider: str) -> str:
    return PROVIDER_NAMES.get(provider, provider)


def _stamp(day: date) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _month(day: date) -> tuple[date, date]:
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def _decimal(value) -> Decimal:
    return Decimal(value or 0).quantize(QUANTUM)


def focus_rows(duckdb_path: Path, start: date, end: date) -> FocusExport:
    """FOCUS 1.2 rows of the priced usage of [start, end] (usage days, inclusive)."""
    if end < start:
        raise ExportError(f"--end-date {end} is before --start-date {start}")
    try:
        con = connect_readonly(duckdb_path)
    except FileNotFoundError as error:
        raise ExportError(str(error)) from error
    with con:
        if not relation_exists(con, "fct_llm_requests"):
            raise ExportError(
                f"{duckdb_path}: no fct_llm_requests; build the warehouse first (aiusage build)"
            )
        sums = ",\n    ".join(
            f"sum({tokens}) as {name.replace('-', '_')}_tokens, "
            f"sum({cost}) as {name.replace('-', '_')}_cost"
            for name, (tokens, cost, *_rest) in TOKEN_CLASSES.items()
        )
        cursor = con.execute(GROUPED_SQL.format(sums=sums), [start, end])
        names = [d[0] for d in cursor.description]
        groups = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        unpriced, unpriced_tokens = con.execute(UNPRICED_SQL, [start, end]).fetchone()
    rows: list[dict] = []
    requests = 0
    for group in groups:
        requests += group["requests"]
        for name, (_tokens, _cost, meter, direction, cache_action) in TOKEN_CLASSES.items():
            key = name.replace("-", "_")
            tokens = int(group[f"{key}_tokens"] or 0)
            cost = _decimal(group[f"{key}_cost"])
            if tokens == 0 and cost == 0:
                continue
            rows.append(_row(group, name, meter, direction, cache_action, tokens, cost))
    billed = sum((row["BilledCost"] for row in rows), Decimal(0))
    return FocusExport(rows, requests, int(unpriced), int(unpriced_tokens), billed)


def _row(group, token_class, meter, direction, cache_action, tokens, cost) -> dict:
    day: date = group["usage_date"]
    provider, model = group["provider"], group["model"]
    period_start, period_end = _month(day)
    valid_from = group["price_valid_from"]
    valid_from_text = valid_from.strftime("%Y-%m-%d") if valid_from else "unknown"
    tier = group["service_tier"]
    long_context = bool(group["is_long_context_tier"])
    pricing_quantity = Decimal(tokens) / PRICING_UNIT_TOKENS
    unit_price = (cost / pricing_quantity).quantize(QUANTUM) if tokens else Decimal(0)
    sku_id = f"{provider}/{model}/{token_class}"
    sku_price_id = f"{provider}/{model}/{valid_from_text}/{tier}/{token_class}" + (
        "/long-context" if long_context else ""
    )
    details = {"ModelId": model, "TokenDirection": direction}
    if cache_action:
        details["TokenCacheAction"] = cache_action
    details["x_ServiceTier"] = tier
    details["x_LongContextTier"] = long_context
    details["x_PriceValidFrom"] = valid_from_text
    tags = {
        key: value
        for key, value in (
            ("team", group["team"]),
            ("workflow", group["workflow"]),
            ("user", group["user_id"]),
        )
        if value is not None
    }
    name = _display(provider)
    team = group["team"]
    return {
        "BilledCost": cost,
        "BillingAccountId": provider,
        "BillingAccountName": f"{name} account",
        "BillingAccountType": "Billing Account",
        "BillingCurrency": "USD",
        "BillingPeriodEnd": _stamp(period_end),
        "BillingPeriodStart": _stamp(period_start),
        "ChargeCategory": "Usage",
        "ChargeClass": None,
        "ChargeDescription": f"{meter} of {model} ({name})",
        "ChargeFrequency": "Usage-Based",
        "ChargePeriodEnd": _stamp(day + timedelta(days=1)),
        "ChargePeriodStart": _stamp(day),
        "CommitmentDiscountCategory": None,
        "CommitmentDiscountId": None,
        "CommitmentDiscountName": None,
        "CommitmentDiscountQuantity": None,
        "CommitmentDiscountStatus": None,
        "CommitmentDiscountType": None,
        "CommitmentDiscountUnit": None,
        "ConsumedQuantity": Decimal(tokens),
        "ConsumedUnit": "Tokens",
        "ContractedCost": cost,
        "ContractedUnitPrice": unit_price,
        "EffectiveCost": cost,
        # null: the charge is on no invoice the warehouse knows (FOCUS InvoiceId-C-004-C)
        "InvoiceId": None,
        "InvoiceIssuerName": name,
        "ListCost": cost,
        "ListUnitPrice": unit_price,
        "PricingCategory": "Standard",
        "PricingCurrency": "USD",
        "PricingCurrencyContractedUnitPrice": unit_price,
        "PricingCurrencyEffectiveCost": cost,
        "PricingCurrencyListUnitPrice": unit_price,
        "PricingQuantity": pricing_quantity,
        "PricingUnit": PRICING_UNIT,
        "ProviderName": name,
        "PublisherName": name,
        "RegionId": None,
        "RegionName": None,
        "ResourceId": None,
        "ResourceName": None,
        "ResourceType": None,
        "ServiceCategory": "AI and Machine Learning",
        "ServiceName": f"{name} API",
        "ServiceSubcategory": "Generative AI",
        "SkuId": sku_id,
        "SkuMeter": meter,
        "SkuPriceDetails": json.dumps(details, separators=(",", ":")),
        "SkuPriceId": sku_price_id,
        "SubAccountId": team,
        "SubAccountName": team,
        "SubAccountType": "Team" if team is not None else None,
        "Tags": json.dumps(tags, separators=(",", ":"), sort_keys=True),
    }


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "") else text
    return str(value)


def write_export(export: FocusExport, output: Path) -> None:
    """CSV (empty cell = null) or Parquet (decimal money, nulls typed), by the extension."""
    suffix = output.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ExportError(f"{output}: the FOCUS export is written as .csv or .parquet")
    output.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        with output.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(COLUMNS)
            for row in export.rows:
                writer.writerow([_text(row[column]) for column in COLUMNS])
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    money = pa.decimal128(38, 12)
    quantity = pa.decimal128(38, 12)
    decimal_columns = {
        "BilledCost", "ContractedCost", "EffectiveCost", "ListCost", "ContractedUnitPrice",
        "ListUnitPrice", "PricingCurrencyContractedUnitPrice", "PricingCurrencyEffectiveCost",
        "PricingCurrencyListUnitPrice", "CommitmentDiscountQuantity",
    }  # fmt: skip
    fields = []
    for column in COLUMNS:
        if column in decimal_columns:
            fields.append(pa.field(column, money))
        elif column in ("ConsumedQuantity", "PricingQuantity"):
            fields.append(pa.field(column, quantity))
        else:
            fields.append(pa.field(column, pa.string()))
    schema = pa.schema(fields)
    table = pa.Table.from_pylist(
        [{column: row[column] for column in COLUMNS} for row in export.rows], schema=schema
    )
    pq.write_table(table, output)


# -- focus-validator (the FinOps Foundation's, PyPI focus-validator 2.2.1) ---------------------

_TOTAL = re.compile(r"Total: (\d+) \| Pass: (\d+) \| Fail: (\d+) \| Skipped: (\d+)")
_RULE = re.compile(r"^\S+ (\S+): (PASS|FAIL|SKIPPED)\b", re.M)


@dataclass
class Verdict:
    total: int
    passed: int
    failed: int  # as the validator counts them (its Total line)
    skipped: int
    failed_rules: list[str]
    # failed rules that are one branch of an OR requirement the validator reports as
    # passed (InvoiceId-C-004-C / -005-C: null or not null): the requirement is met
    unmet_branches: list[str]

    @property
    def failed_requirements(self) -> list[str]:
        return [rule for rule in self.failed_rules if rule not in self.unmet_branches]


def parse_validator_output(text: str, rules_model: dict) -> Verdict:
    """The counts of focus-validator's console output (it exits 0 whatever fails) and which
    failures are only the unmet branch of a passed OR composite of its rules model."""
    match = _TOTAL.search(text)
    if not match:
        raise ExportError("focus-validator printed no 'Total: ... | Fail: N' line")
    status = dict((rule, state) for rule, state in _RULE.findall(text))
    failed = sorted(rule for rule, state in status.items() if state == "FAIL")
    branches = []
    model_rules = rules_model.get("ModelRules", {})
    for rule in failed:
        for parent_id, parent in model_rules.items():
            requirement = (parent.get("ValidationCriteria") or {}).get("Requirement") or {}
            items = requirement.get("Items") or []
            if (
                requirement.get("CheckFunction") == "OR"
                and any(item.get("ModelRuleId") == rule for item in items)
                and status.get(parent_id) == "PASS"
            ):
                branches.append(rule)
                break
    total, passed, failed_count, skipped = (int(x) for x in match.groups())
    return Verdict(total, passed, failed_count, skipped, failed, branches)


def run_validator(validator: Path, data_file: Path, version: str = "1.2") -> tuple[Verdict, str]:
    """Run focus-validator offline on an export: (verdict, its console output). It runs
    from its site-packages folder, where its relative path
    focus_validator/rules/currency_codes.csv resolves, with --block-download (its bundled
    rules model)."""
    validator = Path(validator).absolute()
    python = validator.parent / "python"
    where = subprocess.run(
        [str(python), "-c", "import focus_validator, pathlib; "
         "print(pathlib.Path(focus_validator.__file__).parent)"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if where.returncode != 0:
        raise ExportError(f"{validator}: focus-validator is not installed (make focus-validator)")
    package = Path(where.stdout.strip())
    models = sorted(package.glob(f"rules/model-{version}*.json"))
    if not models:
        raise ExportError(f"{package}/rules: no bundled rules model for FOCUS {version}")
    result = subprocess.run(
        [str(validator), "--data-file", str(Path(data_file).resolve()), "--validate-version",
         version, "--block-download", "--show-violations"],
        cwd=package.parent, capture_output=True, text=True, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    verdict = parse_validator_output(output, json.loads(models[-1].read_text()))
    return verdict, output
