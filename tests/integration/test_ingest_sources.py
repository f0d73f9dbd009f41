"""Every source lands, nothing is lost or counted twice: a small warehouse with injected
faults in all six sources (CSV.gz, JSON, CSV, JSONL pages, JSON page, outcomes CSV), late
data, the reject-rate gate, and the real samples of ../shared/data when present."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from aiusage.ingest import ingest
from aiusage.refresh import RefreshOptions, first_landing_day, landed_event_batch
from aiusage.settings import Settings
from aiusage.warehouse import connect_build
from tests.support.cli_env import dbt_env, run_dbt

pytestmark = pytest.mark.slow
PROJECT = Path(__file__).resolve().parents[2]
SHARED = PROJECT.parent / "shared" / "data"
DAY = date(2026, 11, 18)


def dbt(env, *args):
    return run_dbt(env, PROJECT, *args)


def event(i, **over):
    row = {
        "request_id": f"ev-{i}",
        "occurred_at": "2026-11-17T10:00:00Z",
        "provider": "openai",
        "model": "gpt-4o",
        "team": "t",
        "input_tokens": "100",
        "cache_read_tokens": "40",
        "output_tokens": "10",
    }
    row.update(over)
    return row


def write_events_csv_gz(path):
    rows = [event(i, task_id="task-1") for i in range(2)] + [event(i) for i in range(2, 94)]
    rows.append(event(3))  # identical re-delivery
    rows.append(event(4, output_tokens="99"))  # conflicting re-delivery (kept: latest line)
    rows.append(event(5))
    rows += [event(900, input_tokens="-1"), event(901, cache_read_tokens="500")]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    buffer.write("only,three,fields\n")  # field-count mismatch: row 100
    path.write_bytes(gzip.compress(buffer.getvalue().encode()))
    return {"landed": 100, "accepted": 94, "duplicates": 3, "rejected": 3}


def write_litellm_json(path):
    def row(i, **over):
        usage = {
            "prompt_tokens": 500,
            "completion_tokens": 50,
            "prompt_tokens_details": {"cached_tokens": 200},
            "completion_tokens_details": {"reasoning_tokens": 20},
        }
        base = {
            "request_id": f"ll-{i}",
            "startTime": "2026-11-17T11:00:00+00:00",
            "endTime": "2026-11-17T11:00:02+00:00",
            "model": "gpt-4o",
            "custom_llm_provider": "openai",
            "team_id": "growth",
            "prompt_tokens": 500,
            "completion_tokens": 50,
            "spend": 0.001,
            "status": "success",
            "metadata": json.dumps({"usage_object": usage}),
        }
        base.update(over)
        return base

    rows = [row(i) for i in range(39)]
    rows[0]["metadata"] = json.dumps(
        {"usage_object": json.loads(rows[0]["metadata"])["usage_object"],
         "spend_logs_metadata": {"task_id": "task-2"}}
    )  # fmt: skip
    rows.append(
        row(
            999,
            metadata=json.dumps(
                {"usage_object": {"completion_tokens_details": {"reasoning_tokens": 51}}}
            ),
        )
    )  # reasoning > output
    path.write_text(json.dumps(rows))
    return {"landed": 40, "accepted": 39, "duplicates": 0, "rejected": 1}


def write_langfuse_csv(path):
    rows = [
        {
            "id": f"lf-{i}",
            "type": "GENERATION",
            "start_time": "2026-11-17T12:00:00Z",
            "end_time": "2026-11-17T12:00:01Z",
            "provided_model_name": "claude-sonnet-4-5",
            "usage_details": json.dumps(
                {"input": 10, "cache_read_input_tokens": 90, "input_cache_creation": 5, "output": 7}
            ),
            "level": "DEFAULT",
        }
        for i in range(29)
    ]
    rows[0]["metadata"] = json.dumps({"task_id": "task-3"})
    for row in rows[1:]:
        row["metadata"] = ""
    rows.append(
        {
            **rows[0],
            "id": "lf-future",
            "start_time": "2099-01-01T00:00:00Z",
            "end_time": "2099-01-01T00:00:01Z",
        }
    )
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return {"landed": 30, "accepted": 29, "duplicates": 0, "rejected": 1}


def write_openai_pages_jsonl(path):
    def result(model, inp, cached, out, n):
        return {
            "object": "organization.usage.completions.result",
            "input_tokens": inp,
            "input_cached_tokens": cached,
            "output_tokens": out,
            "num_model_requests": n,
            "model": model,
            "project_id": None,
            "batch": False,
        }

    start = 1794873600  # 2026-11-17T00:00:00Z
    bucket = {"object": "bucket", "start_time": start, "end_time": start + 86400}
    page1 = {
        "object": "page",
        "data": [
            {
                **bucket,
                "results": [
                    result("gpt-4o-2024-08-06", 10000, 4000, 600, 120),
                    result("gpt-4o-mini", 50, 0, 5, 1),
                ],
            }
        ],
    }
    page2 = {
        "object": "page",
        "data": [{**bucket, "results": [result("gpt-4o-2024-08-06", 10000, 4000, 600, 120)]}],
    }  # overlapping download
    path.write_text(json.dumps(page1) + "\n" + json.dumps(page2) + "\n")
    return {"landed": 3, "accepted": 2, "duplicates": 1, "rejected": 0}


def write_anthropic_json(path):
    page = {
        "data": [
            {
                "starting_at": "2026-11-17T00:00:00Z",
                "ending_at": "2026-11-18T00:00:00Z",
                "results": [
                    {
                        "uncached_input_tokens": 300,
                        "cache_read_input_tokens": 2700,
                        "cache_creation": {
                            "ephemeral_5m_input_tokens": 150,
                            "ephemeral_1h_input_tokens": 50,
                        },
                        "output_tokens": 210,
                        "model": "claude-sonnet-4-5-20250929",
                        "service_tier": "standard",
                        "context_window": "0-200k",
                    }
                ],
            }
        ],
        "has_more": False,
        "next_page": None,
    }
    path.write_text(json.dumps(page))
    return {"landed": 1, "accepted": 1, "duplicates": 0, "rejected": 0}


def write_outcomes_csv(path):
    header = "task_id,workflow,occurred_at,outcome,value_usd\n"
    rows = [
        "task-1,wf,2026-11-17T10:05:00Z,success,2.50",
        "task-2,wf,2026-11-17T11:05:00Z,failure,",
        "task-3,wf,2026-11-17T12:05:00Z,failure,",
        "task-3,wf,2026-11-17T12:30:00Z,success,",  # conflicting: the latest line is kept
        "task-1,wf,2026-11-17T10:05:00Z,success,2.50",  # identical re-delivery
        ",wf,2026-11-17T10:05:00Z,success,",  # row 6: missing_task_id
        "task-9,wf,2026-11-17T10:05:00Z,maybe,",  # row 7: unknown_outcome
        "task-8,wf,2026-11-17T10:05:00Z,success,-1",  # row 8: negative_value_usd
    ]
    # outcomes of tasks whose attempts are not here: under the 5 % reject-rate gate
    rows += [f"other-{i},wf,2026-11-17T13:00:00Z,success," for i in range(80)]
    rows.append("only,three,fields")  # row 89: csv_field_count_mismatch
    path.write_text(header + "\n".join(rows) + "\n")
    return {"landed": 89, "accepted": 83, "duplicates": 2, "rejected": 4}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("ingest_wh")
    landing = root / "landing"
    env = dbt_env(root, PROJECT)
    expected = {}
    for source, name, writer in [
        ("events", "events.csv.gz", write_events_csv_gz),
        ("litellm_spend_logs", "spend.json", write_litellm_json),
        ("langfuse_observations", "obs.csv", write_langfuse_csv),
        ("openai_usage", "usage.jsonl", write_openai_pages_jsonl),
        ("anthropic_usage", "usage.json", write_anthropic_json),
        ("outcomes", "outcomes.csv", write_outcomes_csv),
    ]:
        path = root / name
        counts = writer(path)
        summary = ingest(landing, source, [path], DAY)
        assert summary.rows == counts["landed"]
        expected[str(summary.files[0].landed)] = counts
    real = _land_real_samples(root, landing)
    result = dbt(env, "build", "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    return env, root, landing, expected, real


def _query(env, sql):
    with connect_build(env["AIUSAGE_DUCKDB_PATH"]) as con:
        return con.sql(sql).fetchall()


def test_every_landed_row_is_accepted_duplicate_or_rejected(warehouse):
    env, _, _, expected, _ = warehouse
    rows = _query(
        env,
        "select source_file, landed_rows, accepted_rows, duplicate_rows, "
        "rejected_rows from rpt_landing_accounting",
    )
    got = {
        r[0]: dict(zip(["landed", "accepted", "duplicates", "rejected"], r[1:], strict=False))
        for r in rows
    }
    for path, counts in expected.items():
        assert got[path] == counts, path
    for counts in got.values():
        assert counts["landed"] == counts["accepted"] + counts["duplicates"] + counts["rejected"]
    rejected = dict(_query(env, "select source_file, count(*) from fct_rejected_events group by 1"))
    for path, counts in expected.items():
        assert rejected.get(path, 0) == counts["rejected"]


def test_quarantine_points_at_the_delivered_row(warehouse):
    env, *_ = warehouse
    rows = _query(
        env,
        "select line_number, rejection_reason from fct_rejected_events "
        "where source_system = 'events' and source_file like '%events.%' "
        "order by 1",
    )
    assert rows == [
        (98, "negative_input_tokens"),
        (99, "cached_tokens_exceed_input"),
        (100, "csv_field_count_mismatch"),
    ]
    reasons = {r[0] for r in _query(env, "select rejection_reason from fct_rejected_events")}
    assert {"reasoning_tokens_exceed_output", "timestamp_in_future"} <= reasons


def test_duplicates_are_one_row_and_conflicts_keep_the_latest(warehouse):
    env, *_ = warehouse
    rows = dict(
        _query(
            env,
            "select request_id, (delivery_count, is_conflicting, output_tokens) "
            "from fct_llm_requests where request_id in ('ev-3', 'ev-4', 'ev-6')",
        )
    )
    assert rows["ev-3"] == (2, False, 10)
    assert rows["ev-4"] == (2, True, 99)
    assert rows["ev-6"] == (1, False, 10)
    (n,) = _query(env, "select count(*) from fct_llm_requests where request_id like 'ev-%'")[0]
    assert n == 94


def test_task_ids_and_outcomes_reach_the_marts(warehouse):
    env, *_ = warehouse
    tasks = dict(_query(env, "select request_id, task_id from fct_llm_requests where task_id > ''"))
    assert tasks == {"ev-0": "task-1", "ev-1": "task-1", "ll-0": "task-2", "lf-0": "task-3"}
    outcomes = {
        r[0]: r[1:]
        for r in _query(
            env,
            "select task_id, outcome, delivery_count, is_conflicting, value_usd "
            "from fct_task_outcomes where task_id like 'task-%'",
        )
    }
    assert outcomes == {
        "task-1": ("success", 2, False, Decimal("2.5")),
        "task-2": ("failure", 1, False, None),
        "task-3": ("success", 2, True, None),
    }
    assert _query(
        env,
        "select line_number, rejection_reason from fct_rejected_events "
        "where source_system = 'outcomes' order by 1",
    ) == [
        (6, "missing_task_id"),
        (7, "unknown_outcome"),
        (8, "negative_value_usd"),
        (89, "csv_field_count_mismatch"),
    ]
    # task-1 (two attempts, completed) and task-2 (one attempt, failed) on openai/gpt-4o;
    # task-3 (one attempt, completed) on anthropic/claude-sonnet-4-5
    per_model = {
        r[0]: r[1:]
        for r in _query(
            env,
            "select provider, tasks, completed_tasks, failed_tasks, attempts "
            "from rpt_cost_per_outcome",
        )
    }
    assert per_model == {"openai": (2, 1, 1, 3), "anthropic": (1, 1, 0, 1)}
    # task-1's outcome carries $2.50 of value, task-3's none, task-2 failed: the openai
    # row's roi is $2.50 over the cost of its three attempts (the failed task's included)
    values = {
        r[0]: r[1:]
        for r in _query(
            env,
            "select provider, cost_usd, valued_completed_tasks, completed_value_usd, roi "
            "from rpt_cost_per_outcome",
        )
    }
    cost, valued, value, roi = values["openai"]
    assert (valued, value) == (1, Decimal("2.5")) and cost > 0
    assert abs(roi - Decimal("2.5") / cost) < Decimal("1e-11"), (roi, cost)
    assert values["anthropic"][1:] == (0, None, None)


def test_token_conventions_of_each_source(warehouse):
    env, *_ = warehouse
    ll = _query(
        env,
        "select input_tokens, cache_read_tokens, output_tokens, reasoning_tokens "
        "from fct_llm_requests where request_id = 'll-0'",
    )[0]
    assert ll == (500, 200, 50, 20)  # LiteLLM: prompt_tokens includes cached (metadata)
    lf = _query(
        env,
        "select provider, input_tokens, cache_read_tokens, cache_write_tokens, "
        "output_tokens from fct_llm_requests where request_id = 'lf-0'",
    )[0]
    assert lf == ("anthropic", 10 + 90 + 5, 90, 5, 7)  # Langfuse keys are disjoint
    oa = _query(
        env,
        "select requests, input_tokens, uncached_input_tokens, delivery_count "
        "from fct_provider_usage where provider = 'openai' and model = 'gpt-4o'",
    )
    assert oa == [(120, 10000, 6000, 2)]  # OpenAI input includes cached; overlap deduped
    an = _query(
        env,
        "select input_tokens, cache_read_tokens, cache_write_tokens, "
        "cache_write_1h_tokens, is_priced from fct_provider_usage "
        "where provider = 'anthropic' and usage_date = '2026-11-17'",
    )
    assert an == [(300 + 2700 + 150 + 50, 2700, 200, 50, True)]


def test_reconciliation_compares_both_grains_without_adding_them(warehouse):
    env, *_ = warehouse
    row = _query(
        env,
        "select provider_requests, request_requests, requests_gap, "
        "provider_input_tokens, request_input_tokens, input_tokens_gap "
        "from rpt_provider_reconciliation where usage_date = '2026-11-17' "
        "and provider = 'openai' and model = 'gpt-4o'",
    )[0]
    per_request = 94 + 39  # events + litellm requests on gpt-4o that day
    per_request_input = 94 * 100 + 39 * 500
    assert row == (
        120,
        per_request,
        120 - per_request,
        10000,
        per_request_input,
        10000 - per_request_input,
    )
    (daily,) = _query(
        env, "select sum(requests) from fct_daily_usage where usage_date = '2026-11-17'"
    )[0]
    assert daily == 94 + 39 + 29  # provider reports never add to daily totals


def test_landing_the_same_file_twice_changes_nothing(warehouse, tmp_path):
    _, root, landing, _, _ = warehouse
    before = sorted(p.relative_to(landing) for p in landing.rglob("*") if p.is_file())
    summary = ingest(landing, "litellm_spend_logs", [root / "spend.json"], date(2026, 11, 19))
    assert (summary.files_landed, summary.files_skipped) == (0, 1)
    after = sorted(p.relative_to(landing) for p in landing.rglob("*") if p.is_file())
    assert before == after


def test_late_events_and_files_of_old_landing_days_arrive_and_bad_batches_stop_the_build(
    warehouse,
):
    env, root, landing, _, _ = warehouse
    day_of_event = date.fromisoformat(event("too-old")["occurred_at"][:10])
    (before,) = _query(
        env, f"select count(*) from fct_llm_requests where usage_date = '{day_of_event}'"
    )[0]
    late = root / "late.jsonl"
    late.write_text(json.dumps(event("late", occurred_at="2026-11-16T08:00:00Z")) + "\n")
    ingest(landing, "events", [late], date(2026, 11, 19))  # folder d+1, event of d-2
    too_old = root / "too_old.jsonl"
    too_old.write_text(json.dumps(event("too-old")) + "\n")
    # a file landed in a folder 9 days before the latest one (before the old look-back
    # window): the refresh re-reads the landing days from that day on
    landed_old = ingest(landing, "events", [too_old], date(2026, 11, 10)).files[0].landed
    # the landed-batch check validates what the refresh reads: the look-back window's files,
    # and the file of the old day, not the old files the staging model has read as they are
    settings = Settings.from_env(env)
    batch = landed_event_batch(settings, RefreshOptions())
    first = first_landing_day(settings, RefreshOptions())
    older = {p for p in batch if p.parent.name < f"dt={first}"}
    assert older == {landed_old}
    # a staging file written before its record of the files read (macro
    # record_landed_files_read): the same batch, judged from the staged rows' stamps
    record = "stg_events__usage_events__files_read"
    with duckdb.connect(str(settings.staging_duckdb_path)) as con:
        con.execute(f"alter table {record} rename to {record}_aside")
    try:
        assert landed_event_batch(settings, RefreshOptions()) == batch
    finally:
        with duckdb.connect(str(settings.staging_duckdb_path)) as con:
            con.execute(f"alter table {record}_aside rename to {record}")
    result = dbt(env, "run", "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    got = _query(
        env,
        "select request_id, usage_date from fct_llm_requests "
        "where request_id in ('ev-late', 'ev-too-old') order by request_id",
    )
    assert got == [("ev-late", date(2026, 11, 16)), ("ev-too-old", day_of_event)]
    (n,) = _query(env, "select requests from fct_daily_usage where usage_date = '2026-11-16'")[0]
    assert n == 1
    (n,) = _query(
        env, f"select sum(requests) from fct_daily_usage where usage_date = '{day_of_event}'"
    )[0]
    assert n == before + 1
    accounted = _query(
        env,
        "select landed_rows, accepted_rows from rpt_landing_accounting "
        "where source_file like '%/dt=2026-11-10/%'",
    )
    assert accounted == [(1, 1)]

    bad = root / "bad.jsonl"
    bad.write_text(
        "\n".join(
            [
                json.dumps(event("ok-1")),
                "{not json",
                "[1]",
                json.dumps(event("neg", output_tokens=-5)),
            ]
        )
        + "\n"
    )
    landed = ingest(landing, "events", [bad], date(2026, 11, 19)).files[0].landed
    result = dbt(env, "build", "--select", "stg_events__usage_events", "fct_landed_rows")
    assert result.returncode != 0
    assert "reject rate above 5" in result.stdout and landed.name in result.stdout


def _land_real_samples(root, landing):
    """Map the real samples into landings; None when ../shared/data is absent."""
    if not SHARED.is_dir():
        return None
    exports = SHARED / "exports"
    ingest(
        landing,
        "openai_usage",
        [exports / "openai" / "organization_usage_completions.example_response.json"],
        DAY,
    )
    ingest(
        landing,
        "anthropic_usage",
        [exports / "anthropic" / "usage_report_messages.example_response.json"],
        DAY,
    )
    ingest(
        landing,
        "litellm_spend_logs",
        [exports / "litellm" / "spend_logs_payload.litellm_test_expected.json"],
        DAY,
    )
    # BurstGPT: Azure OpenAI trace; documented mapping: ChatGPT -> gpt-3.5-turbo,
    # GPT-4 -> gpt-4, Timestamp (s) after 2023-11-16T00:00Z, Response tokens = 0 -> error.
    trace = SHARED / "traces" / "burstgpt" / "BurstGPT_1.first400.csv"
    out, totals = [], {"rows": 0, "input": 0, "output": 0, "failed": 0}
    with trace.open() as f:
        for i, row in enumerate(csv.DictReader(f)):
            model = {"ChatGPT": "gpt-3.5-turbo", "GPT-4": "gpt-4"}[row["Model"]]
            inp, outp = int(row["Request tokens"]), int(row["Response tokens"])
            seconds = float(row["Timestamp"])
            out.append(
                {
                    "request_id": f"burstgpt-{i}",
                    "provider": "openai",
                    "model": model,
                    "occurred_at": "2023-11-16T00:00:00Z",
                    "latency_ms": int(seconds),
                    "input_tokens": inp,
                    "output_tokens": outp,
                    "status": "error" if outp == 0 else "success",
                }
            )
            totals["rows"] += 1
            totals["input"] += inp
            totals["output"] += outp
            totals["failed"] += outp == 0
    path = root / "burstgpt.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in out) + "\n")
    ingest(landing, "events", [path], DAY)
    return totals


def test_real_samples_land_with_known_totals(warehouse):
    env, _, _, _, real = warehouse
    if real is None:
        pytest.skip(f"real samples absent: {SHARED} not found (clone ../shared to run)")
    oa = _query(
        env,
        "select requests, input_tokens, cache_read_tokens, cache_write_tokens, "
        "uncached_input_tokens, output_tokens, model from fct_provider_usage "
        "where usage_date = '2024-11-01'",
    )
    assert oa == [(5, 1000, 400, 100, 500, 500, "(all models)")]
    an = _query(
        env,
        "select input_tokens, cache_read_tokens, cache_write_tokens, "
        "cache_write_1h_tokens, output_tokens from fct_provider_usage "
        "where provider = 'anthropic' and usage_date = '2023-11-07'",
    )
    assert an == [(123 * 4, 123, 246, 123, 123)]
    ll = _query(
        env,
        "select provider, model, input_tokens, output_tokens, reported_cost_usd "
        "from fct_llm_requests "
        "where request_id = 'chatcmpl-34df56d5-4807-45c1-bb99-61e52586b802'",
    )
    assert ll[0][:4] == ("openai", "gpt-4o", 10, 20)
    bg = _query(
        env,
        "select count(*), sum(input_tokens), sum(output_tokens), "
        "count(*) filter (where status = 'error') from fct_llm_requests "
        "where request_id like 'burstgpt-%'",
    )[0]
    assert bg == (real["rows"], real["input"], real["output"], real["failed"])
    assert real["failed"] == 17  # as the data README states


def _accounting(db_path):
    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.sql(
            "select source_file, landing_date, landed_rows, accepted_rows, duplicate_rows, "
            "conflicting_duplicate_rows, rejected_rows, reject_rate "
            "from rpt_landing_accounting order by source_file"
        ).fetchall()
    return {Path(r[0]).name: r[1:] for r in rows}


# The accounting mart and everything upstream of it (the other marts play no part here).
ACCOUNTING = ("--select", "+rpt_landing_accounting")


def _files_read(target: Path) -> list[str]:
    """The landed files the last build's stg_events__usage_events read (its compiled SQL)."""
    (compiled,) = target.glob("compiled/**/stg_events__usage_events.sql")
    text = compiled.read_text(encoding="utf-8")
    return sorted(Path(m).name for m in re.findall(r"'([^']+\.jsonl)'", text))


def _record_is_the_rows_stamps(env) -> None:
    """The staging model's record of the files it read (macro record_landed_files_read) holds
    each file's stamp as its stored rows carry it: one row per file, none missing."""
    record = _query(env, "select source_file, file_size, file_modified_at "
                    "from stg_events__usage_events__files_read order by all")  # fmt: skip
    rows = _query(env, "select source_file, max(file_size), max(file_modified_at) "
                  "from stg_events__usage_events group by all order by all")  # fmt: skip
    assert record == rows and rows


def test_a_redelivery_recounts_an_older_file_outside_the_window(tmp_path):
    """rpt_landing_accounting is incremental: a refresh recounts its window's files and the
    older files whose records it delivers again (ranking every delivery of their records,
    also those in files it does not recount), and then equals a full rebuild. Staging
    parses each landed file once: a refresh reads only the new file and the one changed in
    place (whose older rows are replaced), never the unchanged ones. What staging read is
    recorded a row per file beside it, in step with its rows; a staging table without the
    record (written before it existed) is judged from its rows, and the record is made."""
    landing = tmp_path / "landing"
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(PROJECT),
        "AIUSAGE_LANDING_DIR": str(landing),
        "AIUSAGE_DUCKDB_PATH": str(tmp_path / "wh.duckdb"),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }

    def land(name, day, lines):
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n")
        return ingest(landing, "events", [path], day).files[0].landed.name

    old = land(
        "old.jsonl",
        date(2026, 11, 10),
        [json.dumps(event("a1")), json.dumps(event("a2")), json.dumps(event("a3")), "{not json"],
    )
    # a3 again, the next day: the later delivery is kept, old's copy is a duplicate
    mid = land("mid.jsonl", date(2026, 11, 11), [json.dumps(event("a3"))])
    other = land("other.jsonl", date(2026, 11, 15), [json.dumps(event("b1"))])
    result = dbt(env, "build", "--quiet", *ACCOUNTING)
    assert result.returncode == 0, result.stdout + result.stderr
    first = _accounting(tmp_path / "wh.duckdb")
    _record_is_the_rows_stamps(env)
    assert first[old][1:6] == (4, 2, 1, 0, 1)
    assert first[mid][1:6] == (1, 1, 0, 0, 0)

    # 2026-11-16: the window starts at 2026-11-12 (lookback 3 from 2026-11-15), so the
    # old file is outside it; a1 comes again unchanged, a2 with another output count.
    new = land(
        "new.jsonl",
        date(2026, 11, 16),
        [
            json.dumps(event("a1")),
            json.dumps(event("a2", output_tokens="7")),
            json.dumps(event("c1")),
        ],
    )
    # ... and the file of 2026-11-15 is rewritten in place: b1 changed, b2 added
    other_path = next(landing.glob(f"events/dt=2026-11-15/{other}"))
    stamp = _query(env, "select distinct file_content_hash from stg_events__usage_events "
                   f"where source_file = '{other_path}'")  # fmt: skip
    other_path.write_text(
        json.dumps(event("b1", output_tokens="9")) + "\n" + json.dumps(event("b2")) + "\n"
    )
    result = dbt(env, "build", "--quiet", *ACCOUNTING)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _files_read(tmp_path / "target") == sorted([new, other])  # not old: unchanged
    _record_is_the_rows_stamps(env)  # other's new stamp, new's, the others' kept
    staged = _query(
        env,
        "select request_id, output_tokens, file_content_hash from stg_events__usage_events "
        f"where source_file = '{other_path}' order by line_number",
    )
    assert [row[:2] for row in staged] == [("ev-b1", 9), ("ev-b2", 10)]  # no stale row
    assert {row[2] for row in staged} != {row[0] for row in stamp}
    incremental = _accounting(tmp_path / "wh.duckdb")
    # (landed, accepted, duplicates, conflicting duplicates, rejected): old is recounted
    # with every delivery of its records, also a3's in mid (outside the window, not
    # delivered again): old's a3 stays a duplicate, mid keeps its counts
    assert incremental[old][1:6] == (4, 0, 3, 1, 1)
    assert incremental[mid][1:6] == (1, 1, 0, 0, 0)
    assert incremental[other][1:6] == (2, 2, 0, 0, 0)
    assert incremental[new][1:6] == (3, 3, 0, 0, 0)

    result = dbt(env, "build", "--quiet", *ACCOUNTING)  # nothing landed: nothing parsed
    assert result.returncode == 0, result.stdout + result.stderr
    assert _files_read(tmp_path / "target") == []
    assert _accounting(tmp_path / "wh.duckdb") == incremental

    # the refresh judges the files by the record: a file whose recorded stamp differs from
    # the file is read again (its rows replaced) and recorded as it is
    with connect_build(tmp_path / "wh.duckdb", read_only=False) as con:
        con.execute(
            "update staging.main.stg_events__usage_events__files_read set file_size = -1 "
            "where source_file like ?",
            [f"%{old}"],
        )
    result = dbt(env, "build", "--quiet", *ACCOUNTING)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _files_read(tmp_path / "target") == [old]
    _record_is_the_rows_stamps(env)

    # a staging table written before the record existed: judged from its rows, then recorded
    with connect_build(tmp_path / "wh.duckdb", read_only=False) as con:
        con.execute("drop table staging.main.stg_events__usage_events__files_read")
    result = dbt(env, "build", "--quiet", *ACCOUNTING)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _files_read(tmp_path / "target") == []
    _record_is_the_rows_stamps(env)

    full_env = {**env, "AIUSAGE_DUCKDB_PATH": str(tmp_path / "full.duckdb")}
    result = dbt(full_env, "build", "--quiet", "--full-refresh", *ACCOUNTING)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _accounting(tmp_path / "full.duckdb") == incremental
    _record_is_the_rows_stamps(full_env)


def _land_events(root: Path, name: str, day: date, ids, fields=lambda i: {}) -> str:
    """Events `ev-<id>` (with `fields(id)` over the defaults) written to root/name and landed
    into root/landing for `day`; the landed file's name."""
    path = root / name
    path.write_text("".join(json.dumps(event(i, **fields(i))) + "\n" for i in ids))
    return ingest(root / "landing", "events", [path], day).files[0].landed.name


def _dbt_ok(env, *args) -> None:
    result = dbt(env, *args)
    assert result.returncode == 0, result.stdout + result.stderr


def _build_then_refresh(env, land, selection) -> None:
    """A first build of `selection` over usage day 2026-11-10, then a day 2026-11-12 landed
    and a run that rewrites only it: the state the windowed tests are checked in."""
    land("a.jsonl", date(2026, 11, 10), ["a1", "a2"])
    _dbt_ok(env, "build", "--quiet", "--exclude-resource-type", "unit_test",
            "--indirect-selection", "cautious", *selection)  # fmt: skip
    land("b.jsonl", date(2026, 11, 12), ["b1"])
    _dbt_ok(env, "run", "--quiet", *selection)


def _session_per_event(root: Path):
    """land(name, day, ids): events landed on `day`, each of that usage day and a session
    of its own (s-<id>)."""

    def land(name, day, ids):
        _land_events(
            root,
            name,
            day,
            ids,
            lambda i: {"session_id": f"s-{i}", "occurred_at": f"{day}T12:00:00Z"},
        )

    return land


def _test_failures(env, *tests):
    """failures(): `dbt test` of `tests`, the names of those that failed (none may error)."""

    def failures():
        result = dbt(env, "test", "--select", *tests)
        assert not re.search(r"(Compilation|Runtime|Database) Error", result.stdout), result.stdout
        return sorted(set(re.findall(r"FAIL \d+ (\w+)", result.stdout)))

    return failures


def _repeat_rows(env, table: str, where: str) -> None:
    """Insert into `table` again its rows `where` (a key a test must find repeated)."""
    with connect_build(env["AIUSAGE_DUCKDB_PATH"], read_only=False) as con:
        con.execute(f"insert into {table} select * from {table} where {where}")


def _watermarks(env):
    rows = _query(
        env, "select model_name, loaded_through, cutoff_date from aiusage_landing_watermarks"
    )
    return {name: (loaded, cutoff) for name, loaded, cutoff in rows}


def test_a_later_delivery_the_same_day_wins_whatever_its_content_hash(tmp_path):
    """Two deliveries of one request landed the same day: the later one is the request's
    row, after a refresh and after a build from nothing. The second delivery's content is
    chosen so that its content hash sorts before the first's: while landed names began with
    the stem and the hash, the first delivery won (the order depended on the hash)."""
    from aiusage.ingest import prepare

    env = dbt_env(tmp_path, PROJECT)
    select = ("--select", "+fct_llm_requests", "--exclude-resource-type", "unit_test",
              "--indirect-selection", "cautious")  # fmt: skip

    def digest(name, fields):
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(event("x", **fields)) + "\n")
        return path, hashlib.sha256(prepare("events", path)[0].encode()).hexdigest()[:16]

    first, first_digest = digest("export.jsonl", {"output_tokens": "10"})
    ingest(tmp_path / "landing", "events", [first], DAY)
    _dbt_ok(env, "build", "--quiet", *select)
    later = next(
        (path, fields)
        for k in range(1, 200)
        for fields in [{"output_tokens": "99", "latency_ms": str(k)}]
        for path, found in [digest(f"export-{k}/export.jsonl", fields)]
        if found < first_digest
    )
    ingest(tmp_path / "landing", "events", [later[0]], DAY)
    for args in ((), ("--full-refresh",)):
        _dbt_ok(env, "build", "--quiet", *select, *args)
        rows = _query(
            env,
            "select output_tokens, latency_ms, delivery_count, is_conflicting "
            "from fct_llm_requests where request_id = 'ev-x'",
        )
        assert rows == [(99, int(later[1]["latency_ms"]), 2, True)], args


def test_each_model_rereads_the_landing_days_loaded_since_its_own_last_run(tmp_path):
    """Downstream of staging, a refresh re-reads the landing days of the rows loaded since
    the model's last run (macro landing_cutoff_date): every day in a first build, nothing
    when nothing was loaded, the new day alone, an old day and the days after it when a
    file lands there, and what an earlier run loaded while the model did not run."""
    env = dbt_env(tmp_path, PROJECT)
    selection = ("--select", "+fct_llm_requests")

    def land(name, day, ids):
        return _land_events(tmp_path, name, day, ids)

    def run(*args):
        result = dbt(
            env,
            "build",
            "--quiet",
            "--exclude-resource-type",
            "unit_test",
            "--indirect-selection",
            "cautious",
            *(args or selection),
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def request(request_id):
        return _query(
            env,
            "select source_file, landing_date, delivery_count from fct_llm_requests "
            f"where request_id = 'ev-{request_id}'",
        )

    land("a.jsonl", date(2026, 11, 10), ["a1", "a2"])
    land("b.jsonl", date(2026, 11, 15), ["b1"])
    run()
    marks = _watermarks(env)
    assert set(marks) == {"fct_landed_rows", "fct_llm_requests"}  # the selection's
    assert marks["fct_llm_requests"][1] is None  # a first build: every day
    (stamps,) = _query(env, "select count(distinct loaded_at) from stg_events__usage_events")
    assert stamps == (1,)
    first_stamp = marks["fct_llm_requests"][0]

    run()  # nothing loaded: nothing re-read
    assert _watermarks(env)["fct_llm_requests"] == (first_stamp, date(9999, 12, 31))

    landed_c = land("c.jsonl", date(2026, 11, 16), ["c1"])
    run()  # a new day: that day alone
    marks = _watermarks(env)
    assert marks["fct_llm_requests"][1] == date(2026, 11, 16)
    assert marks["fct_landed_rows"][1] == date(2026, 11, 16)
    assert marks["fct_llm_requests"][0] > first_stamp

    # a1 delivered again into an old day folder, read by a run of staging alone: the
    # facts did not run, so the next refresh re-reads that day and every day after it
    redelivered = land("d.jsonl", date(2026, 11, 12), ["a1"])
    run("--select", "stg_events__usage_events")
    assert [row[1:] for row in request("a1")] == [(date(2026, 11, 10), 1)]
    run()
    assert _watermarks(env)["fct_llm_requests"][1] == date(2026, 11, 12)
    (row,) = request("a1")
    assert (Path(row[0]).name, row[1], row[2]) == (redelivered, date(2026, 11, 12), 2)
    (counts,) = _query(
        env,
        "select (select count(*) from fct_landed_rows), "
        "(select count(*) from stg_events__usage_events)",
    )
    assert counts == (5, 5)

    # a run whose clock was ahead of this one's (its stamp and the watermarks after it): the
    # next load is stamped after every watermark, so the models still read it
    with connect_build(env["AIUSAGE_DUCKDB_PATH"], read_only=False) as con:
        (updated,) = con.execute(
            "update stg_events__usage_events set loaded_at = timestamp '2100-01-01' "
            f"where source_file like '%/{landed_c}'"
        ).fetchone()
        # the watermarks are the log's latest rows
        con.execute("update aiusage_landing_rewrites set loaded_through = timestamp '2100-01-01'")
    assert updated == 1
    land("e.jsonl", date(2026, 11, 17), ["e1"])
    run()
    (loaded,) = _query(
        env,
        "select loaded_at from stg_events__usage_events where request_id = 'ev-e1'",
    )
    assert loaded[0] > datetime(2100, 1, 1)
    assert request("e1") and _watermarks(env)["fct_llm_requests"][0] == loaded[0]

    # a warehouse from before the run log kept the watermarks in a table: its first run
    # makes them the log's first rows, so the models re-read only what was loaded since
    marks = _watermarks(env)
    with connect_build(env["AIUSAGE_DUCKDB_PATH"], read_only=False) as con:
        con.execute("create table kept as select * from aiusage_landing_watermarks")
        con.execute("drop view aiusage_landing_watermarks")
        con.execute("delete from aiusage_landing_rewrites")
        con.execute("alter table kept rename to aiusage_landing_watermarks")
    land("f.jsonl", date(2026, 11, 18), ["f1"])
    run()
    after = _watermarks(env)
    assert after["fct_llm_requests"][1] == date(2026, 11, 18)  # the new day alone
    assert after["fct_llm_requests"][0] > marks["fct_llm_requests"][0]
    assert request("f1")
    (logged,) = _query(
        env,
        "select list(invocation_id order by seq) from aiusage_landing_rewrites "
        "where model_name = 'fct_llm_requests'",
    )
    assert logged[0][0] == "watermark table" and len(logged[0]) == 2
    (kind,) = _query(
        env,
        "select table_type from information_schema.tables "
        "where table_name = 'aiusage_landing_watermarks'",
    )
    assert kind == ("VIEW",)

    # the code of a model or the content of a seed changed since the models' last run (their
    # watermarks hold another fingerprint of the inputs): with nothing loaded since, they
    # re-read the look-back window (lookback_days 3) before the latest landing day, 11-18
    with connect_build(env["AIUSAGE_DUCKDB_PATH"], read_only=False) as con:
        con.execute("update aiusage_landing_rewrites set inputs_fingerprint = 'another project'")
    run()
    changed = _watermarks(env)
    for model in ("fct_landed_rows", "fct_llm_requests"):
        assert changed[model] == (after[model][0], date(2026, 11, 15)), model
    run()  # the fingerprints match again: nothing loaded, nothing re-read
    unchanged = (after["fct_llm_requests"][0], date(9999, 12, 31))
    assert _watermarks(env)["fct_llm_requests"] == unchanged


# The facts publish fingerprints by landing day, and the models that build them.
PUBLISHED_FACTS = ("fct_landed_rows", "fct_llm_requests", "rpt_landing_accounting")
PUBLISHED_FACTS_SELECTION = ("--select", "+fct_llm_requests", "+rpt_landing_accounting")


def _publish_facts(env, tmp_path: Path, run_id: str) -> dict:
    """Publishes PUBLISHED_FACTS from the build of `env` and checks the snapshot: run.json's
    parts equal every day's fingerprint computed from the build itself (the sum of DuckDB's
    hash of each row's columns, in table order), and each published table holds exactly the
    build's rows. Returns run.json."""
    from aiusage.project import mart_relations
    from aiusage.snapshot import publish

    marts = [
        mart
        for mart in mart_relations(tmp_path / "target" / "manifest.json")
        if mart.name in PUBLISHED_FACTS
    ]
    assert [mart.by_rewritten_days for mart in marts] == [True, True, False]
    snapshot = publish(Settings.from_env(env), marts, run_id=run_id)
    run = json.loads((snapshot.folder / "run.json").read_text())
    with connect_build(env["AIUSAGE_DUCKDB_PATH"]) as con:
        for name in PUBLISHED_FACTS:
            columns = ", ".join(
                column
                for (column,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_name = ? order by ordinal_position",
                    [name],
                ).fetchall()
            )
            whole = con.execute(
                f"select cast(landing_date as varchar), count(*), "
                f"cast(sum(hash({columns})) as varchar) from {name} group by 1"
            ).fetchall()
            assert run["parts"][name] == {day: [n, h] for day, n, h in whole}, name
        con.execute(f"attach '{snapshot.duckdb_path}' as snap (read_only)")
        for name in PUBLISHED_FACTS:
            (difference,) = con.execute(
                f"select count(*) from ((select * from {name} except all "
                f"select * from snap.{name}) union all (select * from snap.{name} "
                f"except all select * from {name}))"
            ).fetchone()
            assert difference == 0, name
    return run


def test_publish_fingerprints_only_the_days_rewritten_since_the_last_snapshot(tmp_path):
    """Publish hashes a partitioned mart's days only where the build may have changed them
    since the current snapshot: the days from the first landing day its model's runs
    rewrote (the run log aiusage_landing_rewrites), and any older day whose row count moved
    (a re-delivered request leaves its old day). Every other day keeps the snapshot's
    fingerprint, and the snapshot's parts still equal every day's fingerprint computed
    from the build. A warehouse built afresh (another log) is fingerprinted whole, and so
    is a mart whose model does not declare publish_by_rewritten_days:
    rpt_landing_accounting recounts older files in place (a re-delivery turns an older
    file's row into a duplicate without moving any day's row count)."""
    env = dbt_env(tmp_path, PROJECT, AIUSAGE_PUBLISHED_DIR=str(tmp_path / "published"))

    def land(name, day, ids):
        return _land_events(tmp_path, name, day, ids)

    def build():
        _dbt_ok(env, "build", "--quiet", "--exclude-resource-type", "unit_test",
                "--indirect-selection", "cautious", *PUBLISHED_FACTS_SELECTION)  # fmt: skip

    def published(run_id):
        return _publish_facts(env, tmp_path, run_id)

    def _days(landed, requests, days):
        """run.json fingerprinted_days: days hashed of the two facts, and of `days` days
        (the accounting is hashed on every day)."""
        return {
            "fct_landed_rows": [landed, days],
            "fct_llm_requests": [requests, days],
            "rpt_landing_accounting": [days, days],
        }

    land("a.jsonl", date(2026, 11, 10), ["a1", "a2"])
    land("b.jsonl", date(2026, 11, 11), ["b1"])
    build()
    run = published("one")  # no snapshot yet: every day
    assert run["fingerprinted_days"] == _days(2, 2, 2)
    first_parts = run["parts"]

    land("c.jsonl", date(2026, 11, 16), ["c1"])
    build()
    run = published("two")  # the new day alone
    assert run["fingerprinted_days"] == _days(1, 1, 3)

    # a1 delivered again on 2026-11-13: the window is 11-13 and after; 11-10 loses a1 in the
    # request fact (its count moves) and is hashed again; 11-11 is not
    land("d.jsonl", date(2026, 11, 13), ["a1"])
    build()
    run = published("three")
    assert run["fingerprinted_days"] == _days(2, 3, 4)
    assert run["parts"]["fct_llm_requests"]["2026-11-10"][0] == 1
    assert (
        run["parts"]["fct_llm_requests"]["2026-11-11"]
        == first_parts["fct_llm_requests"]["2026-11-11"]
    )

    build()  # nothing landed
    run = published("four")
    assert run["fingerprinted_days"] == _days(0, 0, 4)
    assert run["parquet_days"] == {"written": 0, "linked": 12}

    # the warehouse built afresh from the same landing: its log is not the snapshot's
    Path(env["AIUSAGE_DUCKDB_PATH"]).unlink()
    build()
    run = published("five")
    assert run["fingerprinted_days"] == _days(4, 4, 4)


def test_tests_of_the_request_fact_check_the_days_its_last_run_rewrote(tmp_path):
    """The unique and accepted-values tests of fct_llm_requests and its row-level singular
    tests run on the landing days its last run rewrote (__landing_window__,
    tested_landing_window): a broken row there fails them; a row of an older day, written
    and tested by an earlier run, is not read again. A full refresh tests every row."""
    env = dbt_env(tmp_path, PROJECT)
    tests = (
        "unique_fct_llm_requests_request_key",
        "assert_token_arithmetic_holds",
        "accepted_values_fct_llm_requests_status__success__error__timeout__rate_limited__cancelled",
    )

    failures = _test_failures(env, *tests)

    def land(name, day, ids):
        return _land_events(tmp_path, name, day, ids)

    selection = ("--select", "+fct_llm_requests")
    _build_then_refresh(env, land, selection)  # the last run rewrote 2026-11-12
    assert failures() == []

    def corrupt(request_id):  # a duplicate key, broken token arithmetic, an unknown status
        with connect_build(env["AIUSAGE_DUCKDB_PATH"], read_only=False) as con:
            con.execute(
                "insert into fct_llm_requests select * replace (total_tokens + 1 as "
                "total_tokens, 'bogus' as status) from fct_llm_requests "
                f"where request_id = 'ev-{request_id}'"
            )

    corrupt("a1")  # 2026-11-10: written and tested by the first build
    assert failures() == []
    corrupt("b1")  # 2026-11-12: rewritten by the last run
    assert failures() == sorted(tests)
    _dbt_ok(env, "run", "--quiet", "--full-refresh", *selection)
    assert failures() == []  # rebuilt from staging: every row whole again


def test_the_session_days_key_is_tested_on_the_usage_days_the_last_run_replaced(tmp_path):
    """int_daily_sessions_summed replaces the usage days its refresh touched; its key test
    reads those days (__usage_window__, tested_usage_window): a repeated key there fails
    it, one on an older day (replaced and tested by an earlier run) is not read again, and
    a full refresh tests every row."""
    env = dbt_env(tmp_path, PROJECT)
    key_test = "primary_key_int_daily_sessions_summed_daily_sessions_summed_key"
    land, failures = _session_per_event(tmp_path), _test_failures(env, key_test)

    def repeat_a_row_of(day):
        _repeat_rows(env, "int_daily_sessions_summed", f"usage_date = date '{day}' limit 1")

    selection = ("--select", "+int_daily_sessions_summed")
    _build_then_refresh(env, land, selection)  # the last run replaced usage day 2026-11-12
    assert failures() == []
    repeat_a_row_of("2026-11-10")  # replaced and tested by the first build
    assert failures() == []
    repeat_a_row_of("2026-11-12")
    assert failures() == [key_test]
    _dbt_ok(env, "run", "--quiet", "--full-refresh", *selection)
    assert failures() == []  # rebuilt: every row tested, each key once
    repeat_a_row_of("2026-11-10")  # the full build replaced every day: all are tested
    assert failures() == [key_test]


def test_the_window_sessions_key_is_tested_on_the_sessions_the_last_run_recomputed(tmp_path):
    """int_sessions_windowed's refresh deletes and inserts only the sessions it recomputes;
    its pre-hook logs them (int_sessions_windowed__recomputed) and its key test reads them
    alone (__recomputed_sessions__, tested_recomputed_sessions): a repeated session there
    fails it, one of a session the refresh kept is not read again, and a build whole drops
    the log, so that every row is tested."""
    env = dbt_env(tmp_path, PROJECT)
    key_test = "primary_key_int_sessions_windowed_session_id"
    land, failures = _session_per_event(tmp_path), _test_failures(env, key_test)

    def repeat_session(session):
        _repeat_rows(env, "int_sessions_windowed", f"session_id = '{session}'")

    def logged():
        return sorted(r[0] for r in _query(env, "select * from int_sessions_windowed__recomputed"))

    selection = ("--select", "+int_sessions_windowed")
    _build_then_refresh(env, land, selection)  # the refresh added the sessions of 2026-11-12
    assert logged() == ["s-b1"]
    assert failures() == []
    repeat_session("s-a1")  # kept by the refresh: tested by the build that wrote it
    assert failures() == []
    repeat_session("s-b1")
    assert failures() == [key_test]
    _dbt_ok(env, "run", "--quiet", "--full-refresh", *selection)
    assert _query(env, "select count(*) from duckdb_tables() "
                  "where table_name = 'int_sessions_windowed__recomputed'") == [(0,)]  # fmt: skip
    assert failures() == []  # rebuilt whole: every row tested, each session once
    repeat_session("s-a1")
    assert failures() == [key_test]


def test_daily_usage_matches_the_request_fact_on_the_replaced_days_and_in_total(tmp_path):
    """fct_daily_usage's daily_totals_match compares it with fct_llm_requests on the usage
    days its last run replaced (refreshed_days_only: tested_usage_window), plus requests and
    tokens in total: a wrong cost on an older day (compared by the run that wrote it) is not
    read again, one on a replaced day fails it, an extra request on any day fails the total,
    and a full refresh compares every day."""
    env = dbt_env(tmp_path, PROJECT)
    totals_test = "daily_totals_match_fct_daily_usage_ref_fct_llm_requests___count___True"

    def failures():
        result = dbt(env, "test", "--select", totals_test)
        assert not re.search(r"(Compilation|Runtime|Database) Error", result.stdout), result.stdout
        assert totals_test in result.stdout, result.stdout
        return int(re.search(r"(?:FAIL (\d+)|PASS) " + totals_test, result.stdout).group(1) or 0)

    def change(day, assignment):
        with connect_build(env["AIUSAGE_DUCKDB_PATH"], read_only=False) as con:
            key = con.execute(
                "select min(daily_usage_key) from fct_daily_usage where usage_date = ?", [day]
            ).fetchone()[0]
            con.execute(f"update fct_daily_usage set {assignment} where daily_usage_key = ?", [key])

    def land(name, day, ids):  # events of that usage day, landed on it
        _land_events(tmp_path, name, day, ids, lambda i: {"occurred_at": f"{day}T12:00:00Z"})

    selection = ("--select", "+fct_daily_usage")
    _build_then_refresh(env, land, selection)  # the last run replaced usage day 2026-11-12
    assert failures() == 0
    change(date(2026, 11, 10), "total_cost_usd = total_cost_usd + 1")  # compared before
    assert failures() == 0
    change(date(2026, 11, 12), "total_cost_usd = total_cost_usd + 1")
    assert failures() == 1  # the replaced day
    change(date(2026, 11, 10), "requests = requests + 1")
    assert failures() == 2  # and the totals
    _dbt_ok(env, "run", "--quiet", "--full-refresh", *selection)
    assert failures() == 0
    change(date(2026, 11, 10), "total_cost_usd = total_cost_usd + 1")
    assert failures() == 1  # the full build replaced every day: all are compared


def test_cost_reconciliation_follows_the_usage_days_each_refresh_touched(tmp_path):
    """rpt_cost_reconciliation adds up int_daily_requests_summed's daily sums, which a
    refresh recomputes on the usage days it touched only. After a first build, a refresh
    with a late event of an older usage day, a re-delivery that moves a request (and its
    reported cost) to another usage day and a new day, the mart holds the figures worked out
    by hand from the landed events, the request fact's own sums, and what a build from
    nothing on the same landing gives."""
    env = dbt_env(tmp_path, PROJECT)
    selection = ("--select", "+rpt_cost_reconciliation")

    def land(name, day, events):  # {id: (occurred day, reported cost or None, model)}
        def fields(i):
            occurred, reported, model = events[i]
            row = {"occurred_at": f"{occurred}T12:00:00Z", "model": model}
            if reported is not None:
                row["reported_cost_usd"] = reported
            return row

        _land_events(tmp_path, name, day, list(events), fields)

    def mart():
        return _query(
            env,
            """select cast(usage_date as varchar), model, reported_requests, unpriced_requests,
                      reported_cost_usd, computed_cost_usd
               from rpt_cost_reconciliation order by all""",
        )

    def from_requests():  # the request fact's own sums, as the mart defines them
        return _query(
            env,
            """select cast(usage_date as varchar), model, count(*),
                      count(*) filter (where not is_priced), sum(reported_cost_usd),
                      sum(computed_cost_usd)
               from fct_llm_requests where reported_cost_usd is not null
               group by all order by all""",
        )

    land("a.jsonl", date(2026, 11, 10), {
        "a1": ("2026-11-10", "0.5", "gpt-4o"),
        "a2": ("2026-11-10", "0.25", "gpt-4o"),
        "a3": ("2026-11-10", None, "gpt-4o"),
        "a4": ("2026-11-10", "0.1", "no-such-model-x"),
    })  # fmt: skip
    _dbt_ok(env, "build", "--quiet", "--exclude-resource-type", "unit_test",
            "--indirect-selection", "cautious", *selection)  # fmt: skip
    assert [row[:5] for row in mart()] == [
        ("2026-11-10", "gpt-4o", 2, 0, Decimal("0.75")),
        ("2026-11-10", "no-such-model-x", 1, 1, Decimal("0.1")),
    ]
    land("b.jsonl", date(2026, 11, 12), {
        "b1": ("2026-11-12", "1.0", "gpt-4o"),
        "c1": ("2026-11-09", "0.3", "gpt-4o"),  # late: an older usage day
        "a2": ("2026-11-11", "0.4", "gpt-4o"),  # re-delivered: leaves 11-10 for 11-11
    })  # fmt: skip
    _dbt_ok(env, "run", "--quiet", *selection)
    refreshed = mart()
    assert [row[:5] for row in refreshed] == [
        ("2026-11-09", "gpt-4o", 1, 0, Decimal("0.3")),
        ("2026-11-10", "gpt-4o", 1, 0, Decimal("0.5")),
        ("2026-11-10", "no-such-model-x", 1, 1, Decimal("0.1")),
        ("2026-11-11", "gpt-4o", 1, 0, Decimal("0.4")),
        ("2026-11-12", "gpt-4o", 1, 0, Decimal("1.0")),
    ]
    # priced gpt-4o days have a computed cost, the unknown model none
    assert [row[5] is None for row in refreshed] == [False, False, True, False, False]
    assert from_requests() == refreshed
    _dbt_ok(env, "run", "--quiet", "--full-refresh", *selection)
    assert mart() == refreshed


def test_a_null_or_repeated_key_and_a_null_seed_column_fail_their_tests(tmp_path):
    """`primary_key` (macros/tests/primary_key.sql) is a key's unique and not_null tests in
    one node, on the rows the last load wrote (__landing_window__); `not_null_columns` a
    seed's not_null tests in one node, whose failing rows name the column."""
    env = dbt_env(tmp_path, PROJECT)
    staging, key_test = "stg_events__usage_events", "primary_key_stg_events__usage_events_"
    _land_events(tmp_path, "a.jsonl", date(2026, 11, 10), ["a1", "a2"])
    result = dbt(env, "build", "--quiet", "--select", staging, "budgets")
    assert result.returncode == 0, result.stdout + result.stderr

    def failures(*selection):
        result = dbt(env, "test", "--store-failures", "--select", *selection)
        return sorted(set(re.findall(r"FAIL (\d+) (\w+)", result.stdout)))

    def execute(sql):
        with connect_build(env["AIUSAGE_DUCKDB_PATH"], read_only=False) as con:
            con.execute(sql)

    assert failures(staging, "budgets") == []
    one_row = f"from {staging} where landed_row_key = (select min(landed_row_key) from {staging})"
    execute(f"insert into {staging} select * replace (null as landed_row_key) {one_row}")
    assert [(n, name[: len(key_test)]) for n, name in failures(staging)] == [("1", key_test)]
    execute(f"delete from {staging} where landed_row_key is null")
    execute(f"insert into {staging} select * {one_row}")  # the same key twice
    assert [(n, name[: len(key_test)]) for n, name in failures(staging)] == [("1", key_test)]

    execute("update budgets set monthly_limit_usd = null where scope_id = 'platform'")
    failed = failures("budgets")
    assert [name.startswith("not_null_columns_budgets") for _, name in failed] == [True]
    with connect_build(env["AIUSAGE_DUCKDB_PATH"]) as con:
        (table,) = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_name like 'not_null_columns_budgets%'"
        ).fetchone()
        stored = con.execute(f"select column_name, null_rows from {table}").fetchall()
        expected = con.execute("select count(*) from budgets where monthly_limit_usd is null")
        assert stored == [("monthly_limit_usd", expected.fetchone()[0])]


def test_a_price_row_that_prices_a_request_twice_fails_the_request_facts_key_test(tmp_path):
    """The views between staging and the facts carry no key test of their own (each one
    cost a pass over the refresh's rows, the priced view all its price joins: 1.3 s of a
    1M-event full build): a row repeated by the price joins (two price rows valid at once,
    which the seed's GX suite refuses before dbt runs) reaches fct_llm_requests twice
    under one request_key, and its unique test fails on the days the run wrote; a
    repeated landed row fails fct_landed_rows' unique test the same way."""
    env = dbt_env(tmp_path, PROJECT)
    selection = ("--select", "+fct_llm_requests")
    _land_events(tmp_path, "a.jsonl", date(2026, 11, 10), ["a1", "a2"])
    _dbt_ok(env, "build", "--quiet", "--exclude-resource-type", "unit_test",
            "--indirect-selection", "cautious", *selection)  # fmt: skip
    key_tests = ["unique_fct_landed_rows_landed_row_key", "unique_fct_llm_requests_request_key"]

    def failures():
        result = dbt(env, "test", "--select", "fct_llm_requests", "fct_landed_rows")
        return sorted(set(re.findall(r"FAIL \d+ (\w+)", result.stdout)) & set(key_tests))

    assert failures() == []
    with connect_build(env["AIUSAGE_DUCKDB_PATH"], read_only=False) as con:
        (rows,) = con.execute(  # the gpt-4o row that prices 2026-11-17, once more
            "insert into model_prices select * from model_prices where lower(provider) = "
            "'openai' and lower(model) = 'gpt-4o' and valid_from <= timestamp '2026-11-17' "
            "and (valid_to is null or valid_to > timestamp '2026-11-17')"
        ).fetchone()
    assert rows == 1
    _dbt_ok(env, "run", "--quiet", "--full-refresh", "--select", "fct_llm_requests")
    assert failures() == ["unique_fct_llm_requests_request_key"]
    assert _query(env, "select request_id, count(*) from fct_llm_requests group by all "
                  "order by all") == [("ev-a1", 2), ("ev-a2", 2)]  # fmt: skip

    with connect_build(env["AIUSAGE_DUCKDB_PATH"], read_only=False) as con:
        con.execute("delete from model_prices where rowid = (select max(rowid) from model_prices)")
    _dbt_ok(env, "run", "--quiet", "--full-refresh", *selection)
    assert failures() == []
    with connect_build(env["AIUSAGE_DUCKDB_PATH"], read_only=False) as con:
        con.execute("insert into fct_landed_rows select * from fct_landed_rows limit 1")
    assert failures() == ["unique_fct_landed_rows_landed_row_key"]


def test_staging_tables_live_in_their_own_file_and_a_warehouses_old_ones_are_dropped(tmp_path):
    """The staging models build into the database `staging`, the file beside the warehouse
    (Settings.staging_duckdb_path, attached by profiles.yml): the warehouse's own file, which
    publish copies into a snapshot, holds no staging table. A stg_ table left in the
    warehouse's file by a build from before the move is dropped by the next dbt run."""
    env = dbt_env(tmp_path, PROJECT)
    warehouse = Path(env["AIUSAGE_DUCKDB_PATH"])
    staging = Settings.from_env(env).staging_duckdb_path
    assert staging == warehouse.with_name(warehouse.stem + ".staging.duckdb")
    with duckdb.connect(str(warehouse)) as con:  # a warehouse from before the move
        con.execute("create table stg_events__usage_events as select 1 as stale_column")
    _land_events(tmp_path, "a.jsonl", date(2026, 11, 10), ["a1", "a2"])
    result = dbt(env, "build", "--quiet", "--select", "+fct_landed_rows")
    assert result.returncode == 0, result.stdout + result.stderr

    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = {name for (name,) in con.sql("select table_name from duckdb_tables()").fetchall()}
    assert "fct_landed_rows" in tables
    assert not {name for name in tables if name.startswith("stg_")}
    with duckdb.connect(str(staging), read_only=True) as con:
        staged = con.execute("select request_id from stg_events__usage_events order by 1")
        assert staged.fetchall() == [("ev-a1",), ("ev-a2",)]
    # the build's warehouse with staging attached: both resolve by their bare names
    with connect_build(warehouse) as con:
        counts = con.execute(
            "select (select count(*) from stg_events__usage_events), "
            "(select count(*) from fct_landed_rows)"
        ).fetchone()
    assert counts == (2, 2)


def test_the_record_day_index_follows_fct_landed_rows_and_finds_older_deliveries(tmp_path):
    """fct_landed_rows' record-day index (fct_landed_rows__record_days, written by its
    post-hook; macros/engine/lookup.sql) holds, after every run, one row per landed row with
    a record key: its landing day and the key's first 15 hex digits (worked out here in
    Python). A refresh's delivery lookups read it: a request delivered on an old day and
    again on a new one counts both deliveries, and a file changed in place to hold other
    requests leaves no index row of the old ones. A warehouse without the index (built
    before it) gets it whole on its next refresh."""
    env = dbt_env(tmp_path, PROJECT)
    selection = ("--select", "+fct_llm_requests")

    def build(*args):
        _dbt_ok(env, "build", "--quiet", "--exclude-resource-type", "unit_test",
                "--indirect-selection", "cautious", *(args or selection))  # fmt: skip

    def index_matches_fct_landed_rows():
        expected = sorted(
            (day, int(key[:15], 16))
            for day, key in _query(
                env,
                "select landing_date, record_key from fct_landed_rows where record_key is not null",
            )
        )
        assert _query(env, "select * from fct_landed_rows__record_days order by all") == expected
        return expected

    def deliveries(request_id):
        return _query(
            env, f"select delivery_count from fct_llm_requests where request_id = 'ev-{request_id}'"
        )

    _land_events(tmp_path, "a.jsonl", date(2026, 11, 10), ["a1", "a2"])
    build()
    assert len(index_matches_fct_landed_rows()) == 2
    with connect_build(env["AIUSAGE_DUCKDB_PATH"], read_only=False) as con:
        con.execute("drop table fct_landed_rows__record_days")  # a warehouse from before it

    landed = _land_events(tmp_path, "c.jsonl", date(2026, 11, 16), ["c1", "a1"])  # a1 again
    build()
    assert len(index_matches_fct_landed_rows()) == 4
    assert deliveries("a1") == [(2,)] and deliveries("c1") == [(1,)]

    # fct_landed_rows alone (the index is its own post-hook), then the file of 11-16
    # changed in place to hold another request: its old rows leave the table and the index
    build("--select", "stg_events__usage_events", "fct_landed_rows")
    (path,) = (tmp_path / "landing" / "events" / "dt=2026-11-16").glob(landed)
    path.write_text(json.dumps(event("c2")) + "\n")
    build()
    assert len(index_matches_fct_landed_rows()) == 3
    assert deliveries("c2") == [(1,)]


def test_a_file_changed_in_place_withdraws_the_requests_it_no_longer_holds(tmp_path):
    """A landed file changed in place is re-read and its older rows replaced. A request it
    no longer holds leaves fct_llm_requests (it was the latest delivery of c1 and of a1's
    second copy): c1 is gone, a1 falls back to its older delivery of another landing day,
    with one delivery; the usage days they leave or return to are recomputed in
    fct_daily_usage (c1's 11-14 has no request left: no row). A request re-delivered under
    another usage day (a1 on 11-16, a2 on 11-18) leaves its old usage day in the daily mart.
    Each refresh ends where a build from nothing on the same landing does
    (macros/withdrawn_records.sql)."""
    env = dbt_env(tmp_path, PROJECT)
    selection = ("--select", "+fct_daily_usage")

    def land(name, day, ids, fields):
        return _land_events(tmp_path, name, day, ids, fields)

    def requests():
        return _query(
            env,
            """select request_id, cast(usage_date as varchar), cast(landing_date as varchar),
                      output_tokens, delivery_count, is_conflicting
               from fct_llm_requests order by request_id""",
        )

    def daily():
        return _query(
            env,
            """select cast(usage_date as varchar), sum(requests), sum(output_tokens)
               from fct_daily_usage group by all order by 1""",
        )

    land("a.jsonl", date(2026, 11, 10), ["a1", "a2"],
         lambda i: {"occurred_at": "2026-11-10T12:00:00Z"})  # fmt: skip
    _dbt_ok(env, "build", "--quiet", "--exclude-resource-type", "unit_test",
            "--indirect-selection", "cautious", *selection)  # fmt: skip
    landed = land(
        "c.jsonl", date(2026, 11, 16), ["c1", "a1"],
        lambda i: {"occurred_at": "2026-11-14T12:00:00Z" if i == "c1" else "2026-11-15T12:00:00Z",
                   "output_tokens": "99"},
    )  # fmt: skip
    _dbt_ok(env, "run", "--quiet", *selection)
    assert requests() == [
        ("ev-a1", "2026-11-15", "2026-11-16", 99, 2, True),
        ("ev-a2", "2026-11-10", "2026-11-10", 10, 1, False),
        ("ev-c1", "2026-11-14", "2026-11-16", 99, 1, False),
    ]
    # a1 moved from usage day 11-10 to 11-15: 11-10 counts a2 alone
    assert daily() == [("2026-11-10", 1, 10), ("2026-11-14", 1, 99), ("2026-11-15", 1, 99)]

    (path,) = (tmp_path / "landing" / "events" / "dt=2026-11-16").glob(landed)
    path.write_text(json.dumps(event("c2", occurred_at="2026-11-16T12:00:00Z")) + "\n")
    _dbt_ok(env, "run", "--quiet", *selection)
    expected_requests = [
        ("ev-a1", "2026-11-10", "2026-11-10", 10, 1, False),
        ("ev-a2", "2026-11-10", "2026-11-10", 10, 1, False),
        ("ev-c2", "2026-11-16", "2026-11-16", 10, 1, False),
    ]
    expected_daily = [("2026-11-10", 2, 20), ("2026-11-16", 1, 10)]
    assert requests() == expected_requests
    assert daily() == expected_daily
    logged = [
        ("ev-a1", "2026-11-16", "2026-11-10", False),  # moved to 11-15 by the second run
        ("ev-a1", "2026-11-16", "2026-11-10", True),  # the older delivery's day
        ("ev-a1", "2026-11-16", "2026-11-15", True),  # the withdrawn row's
        ("ev-c1", "2026-11-16", "2026-11-14", True),
    ]

    def log():
        return _query(
            env,
            """select request_id, cast(landing_date as varchar), cast(usage_date as varchar),
                      is_withdrawn
               from fct_llm_requests__withdrawn order by all""",
        )

    assert log() == logged

    # a2 re-delivered on 11-18 for usage day 11-18: it leaves 11-10
    land("d.jsonl", date(2026, 11, 18), ["a2"], lambda i: {"occurred_at": "2026-11-18T12:00:00Z"})
    _dbt_ok(env, "run", "--quiet", *selection)
    expected_requests = [
        ("ev-a1", "2026-11-10", "2026-11-10", 10, 1, False),
        ("ev-a2", "2026-11-18", "2026-11-18", 10, 2, True),
        ("ev-c2", "2026-11-16", "2026-11-16", 10, 1, False),
    ]
    expected_daily = [("2026-11-10", 1, 10), ("2026-11-16", 1, 10), ("2026-11-18", 1, 10)]
    assert requests() == expected_requests
    assert daily() == expected_daily
    logged.insert(3, ("ev-a2", "2026-11-18", "2026-11-10", False))
    assert log() == logged

    # nothing changed: nothing more is logged; a build from nothing gives the same rows
    incremental = _query(env, "select * exclude (request_key) from fct_llm_requests order by all")
    _dbt_ok(env, "run", "--quiet", *selection)
    assert log() == logged
    _dbt_ok(env, "run", "--quiet", "--full-refresh", *selection)
    assert requests() == expected_requests and daily() == expected_daily
    assert (
        _query(env, "select * exclude (request_key) from fct_llm_requests order by all")
        == incremental
    )


def test_publish_fingerprints_the_older_day_a_withdrawn_request_comes_back_to(tmp_path):
    """A refresh can put a row back on a landing day before its window: a request withdrawn
    by a file changed in place falls back to its older delivery. The fact's run logs that
    day as the first it rewrote (macro withdrawal_rewritten_from), so publish hashes it even
    when another request left the same day in the same run and its row count did not move:
    the snapshot holds the build's rows (the code before kept the day's old fingerprint and
    rows: b1 where a1 is)."""
    env = dbt_env(tmp_path, PROJECT, AIUSAGE_PUBLISHED_DIR=str(tmp_path / "published"))

    def build():
        _dbt_ok(env, "build", "--quiet", "--exclude-resource-type", "unit_test",
                "--indirect-selection", "cautious", *PUBLISHED_FACTS_SELECTION)  # fmt: skip

    def landing_days():
        return _query(
            env,
            "select request_id, cast(landing_date as varchar) from fct_llm_requests order by 1",
        )

    _land_events(tmp_path, "a.jsonl", date(2026, 11, 10), ["a1", "b1"])
    build()
    _publish_facts(env, tmp_path, "one")
    landed = _land_events(tmp_path, "c.jsonl", date(2026, 11, 16), ["a1"])
    build()
    _publish_facts(env, tmp_path, "two")
    assert landing_days() == [("ev-a1", "2026-11-16"), ("ev-b1", "2026-11-10")]

    # c.jsonl changed in place to hold c1 alone (a1 comes back to 11-10), and b1 delivered
    # again on 11-17 (it leaves 11-10): 11-10 keeps one row, another one
    (path,) = (tmp_path / "landing" / "events" / "dt=2026-11-16").glob(landed)
    path.write_text(json.dumps(event("c1")) + "\n")
    _land_events(tmp_path, "d.jsonl", date(2026, 11, 17), ["b1"])
    build()
    assert landing_days() == [
        ("ev-a1", "2026-11-10"), ("ev-b1", "2026-11-17"), ("ev-c1", "2026-11-16"),
    ]  # fmt: skip
    run = _publish_facts(env, tmp_path, "three")
    assert _watermarks(env)["fct_llm_requests"][1] == date(2026, 11, 10)
    assert run["parts"]["fct_llm_requests"]["2026-11-10"][0] == 1
    assert run["fingerprinted_days"]["fct_llm_requests"] == [3, 3]


def _openai_usage_page(buckets) -> str:
    """One page of the OpenAI usage API: a day's bucket per (start day, model, input tokens)."""
    data = []
    for day, model, input_tokens in buckets:
        start = (day - date(1970, 1, 1)).days * 86400
        data.append({
            "object": "bucket", "start_time": start, "end_time": start + 86400,
            "results": [{
                "object": "organization.usage.completions.result", "input_tokens": input_tokens,
                "input_cached_tokens": 0, "output_tokens": 5, "num_model_requests": 1,
                "model": model, "project_id": None, "batch": False,
            }],
        })  # fmt: skip
    return json.dumps({"object": "page", "data": data}) + "\n"


def test_a_changed_file_withdraws_the_usage_buckets_and_task_outcomes_it_no_longer_holds(
    tmp_path,
):
    """fct_provider_usage and fct_task_outcomes merge their windows by key like the request
    fact: a provider usage export or an outcomes file changed in place so that it no longer
    holds a bucket or a task whose latest delivery it was withdraws that row (logged in the
    fact's __withdrawn table, then deleted); the record's older delivery, if any, comes back
    with one delivery; the fact's watermark logs that older day as rewritten. Each refresh
    ends where a build from nothing on the same landing does."""
    env = dbt_env(tmp_path, PROJECT)
    selection = ("--select", "+fct_provider_usage", "+fct_task_outcomes")
    landing = tmp_path / "landing"
    nov = {day: date(2026, 11, day) for day in (9, 10, 15, 16)}

    def land(source, name, day, text):
        path = tmp_path / name
        path.write_text(text)
        return ingest(landing, source, [path], day).files[0].landed.name

    def outcomes(*rows):
        return "task_id,workflow,occurred_at,outcome,value_usd\n" + "".join(
            f"{task},wf,2026-11-09T10:00:00Z,{outcome},\n" for task, outcome in rows
        )

    def tasks():
        return _query(
            env,
            """select task_id, outcome, cast(landing_date as varchar), delivery_count,
                      is_conflicting
               from fct_task_outcomes order by 1""",
        )

    def buckets():
        return _query(
            env,
            """select cast(cast(bucket_start_at as date) as varchar), model_reported,
                      input_tokens, cast(landing_date as varchar), delivery_count, is_conflicting
               from fct_provider_usage order by 1, 2""",
        )

    def logged(fact):
        return _query(
            env,
            f"""select record_key, cast(landing_date as varchar),
                       cast(older_landing_date as varchar)
                from {fact}__withdrawn order by all""",
        )

    land("outcomes", "o1.csv", nov[10], outcomes(("task-a", "failure"), ("task-b", "success")))
    land("openai_usage", "u1.jsonl", nov[10],
         _openai_usage_page([(nov[9], "gpt-4o", 100), (nov[9], "gpt-4o-mini", 50)]))  # fmt: skip
    _dbt_ok(env, "build", "--quiet", "--exclude-resource-type", "unit_test",
            "--indirect-selection", "cautious", *selection)  # fmt: skip
    o2 = land("outcomes", "o2.csv", nov[16],
              outcomes(("task-a", "success"), ("task-c", "success")))  # fmt: skip
    u2 = land("openai_usage", "u2.jsonl", nov[16],
              _openai_usage_page([(nov[9], "gpt-4o", 200), (nov[15], "gpt-4o", 300)]))  # fmt: skip
    _dbt_ok(env, "run", "--quiet", *selection)
    assert tasks() == [
        ("task-a", "success", "2026-11-16", 2, True),
        ("task-b", "success", "2026-11-10", 1, False),
        ("task-c", "success", "2026-11-16", 1, False),
    ]
    assert buckets() == [
        ("2026-11-09", "gpt-4o", 200, "2026-11-16", 2, True),
        ("2026-11-09", "gpt-4o-mini", 50, "2026-11-10", 1, False),
        ("2026-11-15", "gpt-4o", 300, "2026-11-16", 1, False),
    ]

    # both files of 11-16 changed in place (their new content landed elsewhere first, so it
    # is in the landed format): task-a and the 11-09 gpt-4o bucket fall back to their
    # deliveries of 11-10; task-c and the 11-15 gpt-4o bucket are gone
    for source, name, new, text in [
        ("outcomes", o2, "o3.csv", outcomes(("task-d", "success"))),
        ("openai_usage", u2, "u3.jsonl", _openai_usage_page([(nov[15], "gpt-4o-mini", 70)])),
    ]:
        (path,) = landing.rglob(name)
        new = tmp_path / new
        new.write_text(text)
        (relanded,) = ingest(tmp_path / "elsewhere", source, [new], nov[16]).files
        path.write_bytes(relanded.landed.read_bytes())
    _dbt_ok(env, "run", "--quiet", *selection)
    expected_tasks = [
        ("task-a", "failure", "2026-11-10", 1, False),
        ("task-b", "success", "2026-11-10", 1, False),
        ("task-d", "success", "2026-11-16", 1, False),
    ]
    expected_buckets = [
        ("2026-11-09", "gpt-4o", 100, "2026-11-10", 1, False),
        ("2026-11-09", "gpt-4o-mini", 50, "2026-11-10", 1, False),
        ("2026-11-15", "gpt-4o-mini", 70, "2026-11-16", 1, False),
    ]
    assert tasks() == expected_tasks
    assert buckets() == expected_buckets
    md5 = {task: hashlib.md5(task.encode()).hexdigest() for task in ("task-a", "task-c")}
    assert set(logged("fct_task_outcomes")) == {
        (md5["task-a"], "2026-11-16", "2026-11-10"),
        (md5["task-c"], "2026-11-16", None),
    }
    withdrawn_buckets = logged("fct_provider_usage")  # the 11-09 gpt-4o and 11-15 buckets
    assert len(withdrawn_buckets) == 2
    assert {row[1:] for row in withdrawn_buckets} == {
        ("2026-11-16", "2026-11-10"), ("2026-11-16", None),
    }  # fmt: skip
    watermarks = _watermarks(env)
    assert watermarks["fct_task_outcomes"][1] == watermarks["fct_provider_usage"][1] == nov[10]

    # nothing changed: nothing more is withdrawn; a build from nothing gives the same rows
    _dbt_ok(env, "run", "--quiet", *selection)
    assert len(logged("fct_task_outcomes")) == len(logged("fct_provider_usage")) == 2
    _dbt_ok(env, "run", "--quiet", "--full-refresh", *selection)
    assert tasks() == expected_tasks and buckets() == expected_buckets


# -- fractional counts, the model identity of usage buckets, LiteLLM proxy cache hits --------

AUDIT_DAY = date(2026, 12, 5)


def _seed_price(provider: str, model: str, at: str) -> dict[str, Decimal]:
    """The seeds/model_prices.csv row of (provider, model) valid at `at`, read here with csv
    so that the expected costs do not come from the warehouse."""
    with (PROJECT / "seeds" / "model_prices.csv").open() as f:
        rows = [
            r for r in csv.DictReader(f)
            if r["provider"] == provider and r["model"] == model
            and r["valid_from"] <= at and (not r["valid_to"] or at < r["valid_to"])
        ]  # fmt: skip
    assert len(rows) == 1, (provider, model, rows)
    return {k: Decimal(v) for k, v in rows[0].items() if k.endswith("_usd_per_mtok") and v}


def _write_audit_inputs(root: Path) -> list[tuple[str, Path]]:
    events = [
        # fractional counts are no counts: quarantined, never rounded
        event("frac-in", occurred_at="2026-12-05T09:00:00Z", input_tokens=12.7),
        event("frac-out", occurred_at="2026-12-05T09:00:00Z", output_tokens="10.5"),
        event("frac-search", occurred_at="2026-12-05T09:00:00Z", web_search_requests=1.5),
        # integral values written as a decimal or a string are that integer
        event("int-float", occurred_at="2026-12-05T09:00:00Z", input_tokens=12.0,
              cache_read_tokens=0, output_tokens=1e1),
        event("int-text", occurred_at="2026-12-05T09:00:00Z", input_tokens="12",
              cache_read_tokens="0", output_tokens="10"),
        # the dated Anthropic ids of the usage buckets below, on requests of the same day
        event("opus", occurred_at="2026-12-05T10:00:00Z", provider="anthropic",
              model="claude-opus-4-5-20251101", input_tokens="1000", cache_read_tokens="0",
              output_tokens="1000"),
        event("sonnet37", occurred_at="2026-12-05T10:00:00Z", provider="anthropic",
              model="claude-3-7-sonnet-20250219", input_tokens="2000", cache_read_tokens="0",
              output_tokens="100"),
    ]  # fmt: skip
    events += [  # accepted rows on another model: each file stays under the 5 % reject gate
        event(f"pad-{i}", occurred_at="2026-12-05T08:00:00Z", model="gpt-4o-mini")
        for i in range(57)
    ]
    (root / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))

    header = ("request_id,spend,prompt_tokens,completion_tokens,startTime,endTime,model,"
              "custom_llm_provider,team_id,metadata,cache_hit,status\n")  # fmt: skip
    litellm = [
        "ll-frac,0.00005,12.7,3,2026-12-05T15:10:00Z,2026-12-05T15:10:01Z,gpt-4o,openai,ops,,,success",
        "ll-hit,0.0,1000,100,2026-12-05T17:00:00Z,2026-12-05T17:00:00.010Z,gpt-4o,openai,growth,,True,success",
        "ll-hit-unknown,0,50,5,2026-12-05T17:01:00Z,2026-12-05T17:01:00.010Z,gpt-unknown-9,openai,growth,,true,success",
        "ll-miss,0.0035,1000,100,2026-12-05T17:02:00Z,2026-12-05T17:02:02Z,gpt-4o,openai,growth,,False,success",
        "ll-none,0.0035,1000,100,2026-12-05T17:03:00Z,2026-12-05T17:03:02Z,gpt-4o,openai,growth,,None,success",
    ]  # fmt: skip
    litellm += [
        f"ll-pad-{i},0.001,10,1,2026-12-05T08:00:00Z,2026-12-05T08:00:01Z,gpt-4o-mini,openai,"
        "ops,,False,success"
        for i in range(16)
    ]
    (root / "spend.csv").write_text(header + "\n".join(litellm) + "\n")

    start = (AUDIT_DAY - date(1970, 1, 1)).days * 86400
    openai_results = [
        {"input_tokens": "100.6", "output_tokens": 10, "model": "gpt-4o"},
        {"input_tokens": "100", "output_tokens": 10, "model": "gpt-4o-mini"},
    ] + [
        {"input_tokens": 10, "output_tokens": 1, "model": "gpt-4o-mini", "project_id": f"p{i}"}
        for i in range(19)
    ]
    openai_page = {"object": "page", "data": [{
        "object": "bucket", "start_time": start, "end_time": start + 86400,
        "results": [{"object": "organization.usage.completions.result",
                     "input_cached_tokens": 0, "num_model_requests": 1, "batch": False,
                     **r} for r in openai_results],
    }]}  # fmt: skip
    (root / "openai.json").write_text(json.dumps(openai_page))

    def anthropic_result(model, uncached, output):
        return {"uncached_input_tokens": uncached, "cache_read_input_tokens": 0,
                "cache_creation": {"ephemeral_5m_input_tokens": 0,
                                   "ephemeral_1h_input_tokens": 0},
                "output_tokens": output, "model": model, "service_tier": "standard",
                "context_window": "0-200k"}  # fmt: skip

    anthropic_page = {"data": [{
        "starting_at": "2026-12-05T00:00:00Z", "ending_at": "2026-12-06T00:00:00Z",
        "results": [anthropic_result("claude-opus-4-5-20251101", 1000, 1000),
                    anthropic_result("claude-3-7-sonnet-20250219", 2000, 100)],
    }], "has_more": False, "next_page": None}  # fmt: skip
    (root / "anthropic.json").write_text(json.dumps(anthropic_page))
    return [
        ("events", root / "events.jsonl"),
        ("litellm_spend_logs", root / "spend.csv"),
        ("openai_usage", root / "openai.json"),
        ("anthropic_usage", root / "anthropic.json"),
    ]


@pytest.fixture(scope="module")
def audit_warehouse(tmp_path_factory):
    """Events, LiteLLM, OpenAI and Anthropic files of one day with fractional counts, dated
    model ids on both grains and LiteLLM proxy cache hits, each file padded with accepted
    gpt-4o-mini rows (left out of the assertions) to stay under the reject-rate gate."""
    root = tmp_path_factory.mktemp("audit_wh")
    env = dbt_env(root, PROJECT)
    for source, path in _write_audit_inputs(root):
        ingest(root / "landing", source, [path], AUDIT_DAY)
    result = dbt(env, "build", "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    return env


def test_fractional_token_counts_are_rejected_not_rounded(audit_warehouse):
    env = audit_warehouse
    rejected = _query(
        env,
        "select source_system, line_number, rejection_reason from fct_rejected_events "
        "order by 1, 2",
    )
    assert rejected == [
        ("events", 1, "invalid_input_tokens"),  # 12.7
        ("events", 2, "invalid_output_tokens"),  # "10.5"
        ("events", 3, "invalid_web_search_requests"),  # 1.5
        ("litellm_spend_logs", 1, "invalid_input_tokens"),  # prompt_tokens 12.7 (CSV)
        ("openai_usage", 1, "invalid_input_tokens"),  # "100.6"
    ]
    requests = dict(
        _query(
            env,
            "select request_id, (input_tokens, output_tokens) from fct_llm_requests "
            "where (request_id like 'ev-%' or request_id = 'll-frac') "
            "and model_reported <> 'gpt-4o-mini'",
        )
    )
    assert requests == {
        "ev-int-float": (12, 10),  # 12.0 and 1e1: integral, accepted
        "ev-int-text": (12, 10),
        "ev-opus": (1000, 1000),
        "ev-sonnet37": (2000, 100),
    }
    buckets = _query(env, "select model_reported, input_tokens from fct_provider_usage "
                     "where provider = 'openai' and project_id is null")  # fmt: skip
    assert buckets == [("gpt-4o-mini", 100)]
    accounting = _query(
        env,
        "select sum(landed_rows), sum(accepted_rows), sum(duplicate_rows), sum(rejected_rows) "
        "from rpt_landing_accounting",
    )
    # events 64 (3 rejected), LiteLLM 21 (1), OpenAI 21 (1), Anthropic 2
    assert accounting == [(64 + 21 + 21 + 2, 61 + 20 + 20 + 2, 0, 5)]


def test_usage_buckets_resolve_model_ids_as_requests_do(audit_warehouse):
    env = audit_warehouse
    opus = _seed_price("anthropic", "claude-opus-4-5", "2026-12-05")
    sonnet = _seed_price("anthropic", "claude-3-7-sonnet", "2026-12-05")
    mtok = Decimal(1_000_000)
    expected = {
        # 1000 uncached input + 1000 output on Opus 4.5: 1000 * 5 / 1e6 + 1000 * 25 / 1e6
        "claude-opus-4-5": (1000 * opus["input_usd_per_mtok"]
                            + 1000 * opus["output_usd_per_mtok"]) / mtok,
        "claude-3-7-sonnet": (2000 * sonnet["input_usd_per_mtok"]
                              + 100 * sonnet["output_usd_per_mtok"]) / mtok,
    }  # fmt: skip
    assert expected["claude-opus-4-5"] == Decimal("0.030")
    buckets = {
        r[0]: r[1:]
        for r in _query(
            env,
            "select model, model_reported, is_priced, unpriced_reason, total_cost_usd "
            "from fct_provider_usage where provider = 'anthropic'",
        )
    }
    assert buckets == {
        "claude-opus-4-5": ("claude-opus-4-5-20251101", True, None, expected["claude-opus-4-5"]),
        "claude-3-7-sonnet": (
            "claude-3-7-sonnet-20250219", True, None, expected["claude-3-7-sonnet"],
        ),
    }  # fmt: skip
    requests = dict(
        _query(
            env,
            "select model, total_cost_usd from fct_llm_requests where provider = 'anthropic'",
        )
    )
    assert requests == expected  # the same traffic costs the same on both grains
    reconciliation = _query(
        env,
        "select model, provider_requests, request_requests, provider_input_tokens, "
        "request_input_tokens from rpt_provider_reconciliation "
        "where provider = 'anthropic' order by model",
    )
    assert reconciliation == [  # one row per model, both grains side by side
        ("claude-3-7-sonnet", None, 1, 2000, 2000),
        ("claude-opus-4-5", None, 1, 1000, 1000),
    ]


def test_litellm_proxy_cache_hits_cost_nothing_and_are_flagged(audit_warehouse):
    env = audit_warehouse
    gpt4o = _seed_price("openai", "gpt-4o", "2026-12-05")
    list_cost = (1000 * gpt4o["input_usd_per_mtok"] + 100 * gpt4o["output_usd_per_mtok"]) / Decimal(
        1_000_000
    )
    assert list_cost == Decimal("0.0035")  # 1000 * 2.5 / 1e6 + 100 * 10 / 1e6
    rows = {
        r[0]: r[1:]
        for r in _query(
            env,
            "select request_id, cost_source, is_priced, input_tokens, "
            "output_tokens, computed_cost_usd, total_cost_usd from fct_llm_requests "
            "where source_system = 'litellm_spend_logs' and model_reported <> 'gpt-4o-mini'",
        )
    }
    assert rows == {
        # the proxy's cache answered: tokens kept, priced at 0, its cost source says why
        "ll-hit": ("proxy_cache_hit", True, 1000, 100, Decimal(0), Decimal(0)),
        # an unknown model answered from the cache costs nothing too, and stays unpriced
        "ll-hit-unknown": ("proxy_cache_hit", False, 50, 5, None, Decimal(0)),
        # cache_hit False or None: the provider was called, list price
        "ll-miss": ("computed", True, 1000, 100, list_cost, list_cost),
        "ll-none": ("computed", True, 1000, 100, list_cost, list_cost),
    }
    flagged = _query(
        env, "select request_id from fct_llm_requests where is_proxy_cache_hit order by 1"
    )
    assert flagged == [("ll-hit",), ("ll-hit-unknown",)]
    # the daily totals count the hits at 0, not at the list price
    (day_cost,) = _query(
        env,
        "select sum(total_cost_usd) from fct_daily_usage "
        "where usage_date = '2026-12-05' and provider = 'openai' and model = 'gpt-4o'",
    )[0]
    events_cost = (
        2
        * (12 * gpt4o["input_usd_per_mtok"] + 10 * gpt4o["output_usd_per_mtok"])
        / Decimal(1_000_000)
    )
    assert day_cost == 2 * list_cost + events_cost
