"""One code path, and refreshes that are idempotent across it. A warehouse refreshed by
Dagster (the job refresh_warehouse, executed in-process as the schedule, the sensor and the
UI run it) and then, with no new data, by `aiusage build` (a real command-line process,
asked to re-read the last landing day so that it runs): the second refresh changes no mart
and publishes byte-identical Parquet marts, and both deliver the same alerts of rpt_alerts
(the rows dbt built) to a local Slack webhook and a local SMTP server, and the same weekly
report as `aiusage send-report` for that week. Then what a refresh skips: a plain `aiusage
build` with nothing new stops at "Nothing new" (no run, no snapshot, nothing sent twice),
and after a price change only the seeds that changed and the models downstream of them run.

Its own small warehouse and a copy of the dbt project (a seed changes): other tests read the
shared one at the same time, DuckDB has one writer, and landed rows are keyed by their file
path, so a copy elsewhere would not be the same warehouse."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from aiusage import dbtserver
from aiusage.cli import main
from aiusage.delivery.alerts import deliver
from aiusage.delivery.reports import today_in, weekly_window
from aiusage.delivery.state import connect_state
from aiusage.project import manifest_path, mart_relations
from aiusage.sample import generate
from aiusage.settings import Settings
from aiusage.snapshot import current_build_id, published_duckdb_path
from tests.support.cli_env import AIUSAGE
from tests.support.project import copy_project
from tests.support.seeds import read_rows, write_rows
from tests.support.servers import RecordingSmtp, RecordingWebhook

pytestmark = pytest.mark.slow


def _query(path: str, sql: str) -> list[tuple]:
    """Read the warehouse as dbt built it, independently of the delivery code."""
    with duckdb.connect(path, read_only=True) as con:
        return con.execute(sql).fetchall()


def _rpt_alerts(env) -> list[tuple]:
    return _query(
        env["AIUSAGE_DUCKDB_PATH"],
        "select alert_key, severity, message from rpt_alerts order by alert_key",
    )


def _delivered(env) -> list[tuple]:
    state = connect_state(Path(env["AIUSAGE_DELIVERY_STATE_PATH"]))
    try:
        rows = state.execute(
            "select alert_key, severity, message, channels from alert_history "
            "where event = 'sent' order by alert_key"
        ).fetchall()
    finally:
        state.close()
    return [tuple(r) for r in rows]


def _by_path(delivered: list[tuple]) -> list[tuple]:
    return [row[:3] for row in delivered]


def _base_env() -> dict[str, str]:
    """This process's environment without any delivery channel."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AIUSAGE_SMTP_") and k != "SLACK_WEBHOOK_URL"
    }


def _set_environ(env: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(env)


def _mail(smtp: RecordingSmtp) -> list[tuple[str, str]]:
    return [(m["Subject"], m.get_body(("plain",)).get_content()) for m in smtp.parsed()]


def _dbt_nodes_run(target: Path) -> set[str]:
    """The dbt nodes of the latest refresh: the run_results.json of each dbt invocation of
    the newest run (dagster-dbt writes one target folder per invocation)."""
    results = sorted(target.glob("warehouse_*/run_results.json"), key=lambda p: p.stat().st_mtime)
    run = results[-1].parent.name.split("-")[1]
    nodes = set()
    for path in results:
        if path.parent.name.split("-")[1] == run:
            nodes |= {r["unique_id"] for r in json.loads(path.read_text())["results"]}
    return nodes


def _late_events_file(folder: Path) -> Path:
    """One delivered file: late events of a known day, landed through `aiusage ingest`."""
    delivered = folder / "late.jsonl"
    folder.mkdir()
    late = [
        {
            "request_id": f"late-{n}",
            "occurred_at": f"2026-11-19T10:{n:02d}:00Z",
            "provider": "openai",
            "model": "gpt-4o-mini",
            "team": "search",
            "input_tokens": 100 + n,
            "output_tokens": 10,
        }
        for n in range(5)
    ]
    delivered.write_text("".join(json.dumps(e) + "\n" for e in late), encoding="utf-8")
    return delivered


def test_dagster_then_the_command_line_change_nothing_and_deliver_the_same(tmp_path):
    from orchestration.run import outcome, run_refresh

    project = copy_project(tmp_path / "project")
    dagster_env = {
        "AIUSAGE_PROJECT_DIR": str(project),
        "AIUSAGE_LANDING_DIR": str(tmp_path / "landing"),
        "AIUSAGE_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "AIUSAGE_PUBLISHED_DIR": str(tmp_path / "published"),
        "AIUSAGE_GX_DOCS_DIR": str(tmp_path / "gx_docs"),
        "AIUSAGE_REPORTS_DIR": str(tmp_path / "reports"),
        "AIUSAGE_DELIVERY_STATE_PATH": str(tmp_path / "delivery_state.sqlite"),
        "AIUSAGE_DBT_TARGETS_KEEP": "2",
    }
    saved = dict(os.environ)
    try:
        _set_environ({**_base_env(), **dagster_env})
        settings = Settings.from_env()
        generate(
            settings.landing_dir,
            days=8,
            events_per_day=300,
            seed=5,
            end_date=date(2026, 11, 20),
            progress=False,
        )
        ingest = ["ingest", "events", str(_late_events_file(tmp_path / "inbox"))]
        ingest += ["--landing-date", "2026-11-20"]
        assert CliRunner().invoke(main, ingest).exit_code == 0

        # --- the first refresh: the Dagster job, in this process
        with RecordingWebhook() as hook, RecordingSmtp() as smtp:
            os.environ.update({"SLACK_WEBHOOK_URL": hook.url, **smtp.env()})
            settings = Settings.from_env()
            result = run_refresh(settings, log_level="CRITICAL")
            done = outcome(result, settings)
            dagster_posts, dagster_mail = hook.payloads(), _mail(smtp)
        assert done.success, done.failure
        # dbt ran in the warm dbt server (aiusage.dbtserver), not in a cold dbt process
        served = [line.split()[1:4] for line in dbtserver.served_commands()]
        assert ["dbt", "build", "exit=0"] in served
        built = _rpt_alerts(dagster_env)
        assert len(built) > 0
        assert done.alerts.startswith(f"Alerts: {len(built)} new")

        marts = mart_relations(manifest_path(settings))
        assert len(marts) > 20
        first = current_build_id(settings)

        def landed():
            return sorted(
                p.relative_to(settings.landing_dir) for p in settings.landing_dir.rglob("*")
            )

        def checksums():
            sql = 'select count(*), sum(hash(t)) from "{}"."{}" as t'
            path = dagster_env["AIUSAGE_DUCKDB_PATH"]
            return {m.name: _query(path, sql.format(m.schema, m.name))[0] for m in marts}

        before, files = checksums(), landed()
        assert before["fct_llm_requests"][0] > 0
        late = "select count(*) from fct_llm_requests where request_id like 'late-%'"
        assert _query(dagster_env["AIUSAGE_DUCKDB_PATH"], late) == [(5,)]

        # --- the same file delivered again lands nothing
        _set_environ({**_base_env(), **dagster_env})
        again = CliRunner().invoke(main, ingest)
        assert again.exit_code == 0 and "1 skipped as already landed" in again.output
        assert landed() == files

        # --- the second refresh: `aiusage build`, a real process, with a delivery state of
        # its own (nothing sent yet, as on a fresh install); with nothing new it would stop
        # at "Nothing new" (below), so it is asked to re-read the last landing day
        cli_env = {
            **dagster_env,
            "AIUSAGE_DELIVERY_STATE_PATH": str(tmp_path / "cli" / "delivery_state.sqlite"),
            "AIUSAGE_REPORTS_DIR": str(tmp_path / "cli" / "reports"),
        }
        with RecordingWebhook() as hook, RecordingSmtp() as smtp:
            env = {**_base_env(), **cli_env, "SLACK_WEBHOOK_URL": hook.url, **smtp.env()}
            completed = subprocess.run(
                [AIUSAGE, "build", "--quiet", "--start-date", "2026-11-20"],
                env=env,
                capture_output=True,
                text=True,
            )
            cli_posts, cli_mail = hook.payloads(), _mail(smtp)
        assert completed.returncode == 0, completed.stdout + completed.stderr
        assert "Alerts:" in completed.stdout and "secret-part" not in completed.stdout

        # --- no mart changed, and the published Parquet marts are byte-identical
        assert checksums() == before
        second = current_build_id(settings)
        assert second != first
        for mart in marts:
            if mart.support:  # kept in the snapshot for a view mart: no Parquet of its own
                continue
            # one file per mart, or one per landing day for the marts holding the history
            old_root = settings.published_dir / first / "marts"
            new_root = settings.published_dir / second / "marts"
            names = [f"{mart.name}.parquet"]
            if (old_root / mart.name).is_dir():
                names = sorted(p.name for p in (old_root / mart.name).iterdir())
                assert names == sorted(p.name for p in (new_root / mart.name).iterdir())
                names = [f"{mart.name}/{n}" for n in names]
            for name in names:
                old = (old_root / name).read_bytes()
                assert (new_root / name).read_bytes() == old, name

        # --- the same rows of rpt_alerts, each sent once on both channels, by both paths
        assert _rpt_alerts(cli_env) == built
        assert _by_path(_delivered(dagster_env)) == built == _by_path(_delivered(cli_env))
        channels = {row[3] for row in _delivered(dagster_env) + _delivered(cli_env)}
        assert channels == {"slack,email"}
        alert_posts = [p for p in dagster_posts if p["text"].startswith("aiusage: ")]
        assert alert_posts == [p for p in cli_posts if p["text"].startswith("aiusage: ")]
        (alert_post,) = alert_posts
        for _key, severity, message in built:
            assert f"[{severity}]" in alert_post["text"] and message in alert_post["text"]
        assert [m for m in dagster_mail if m[0].startswith("[aiusage]")] == [
            m for m in cli_mail if m[0].startswith("[aiusage]")
        ]

        # --- the weekly report: sent once by each path, the payload of `aiusage send-report`
        week = weekly_window(today_in("UTC"))
        report_posts = [p for p in dagster_posts if p["text"].startswith("AI USAGE REPORT")]
        assert report_posts == [p for p in cli_posts if p["text"].startswith("AI USAGE REPORT")]
        assert len(report_posts) == 1
        with RecordingWebhook() as hook:
            # CliRunner adds `env` to this process's environment (no e-mail channel in it)
            env = {**cli_env, "SLACK_WEBHOOK_URL": hook.url}
            args = ["send-report", "--last-days", "7", "--end-date", str(week.end)]
            sent = CliRunner().invoke(main, args, env=env)
            assert sent.exit_code == 0, sent.output
            assert hook.payloads() == report_posts

        # --- the next delivery (what the next refresh runs) sends nothing new
        with RecordingWebhook() as hook:
            settings = Settings.from_env({**_base_env(), **cli_env, "SLACK_WEBHOOK_URL": hook.url})
            repeat = deliver(settings, published_duckdb_path(settings))
            assert hook.payloads() == []
        assert repeat.new == [] and repeat.escalated == [] and len(repeat.unchanged) == len(built)

        # --- nothing new: `aiusage build` says so, runs nothing and sends nothing twice
        with RecordingWebhook() as hook:
            env = {**_base_env(), **cli_env, "SLACK_WEBHOOK_URL": hook.url}
            idle = subprocess.run([AIUSAGE, "build"], env=env, capture_output=True, text=True)
            assert hook.payloads() == []
        assert idle.returncode == 0, idle.stdout + idle.stderr
        assert idle.stdout.startswith(f"Nothing new since build {second} "), idle.stdout
        assert " - dagster - " not in idle.stdout + idle.stderr  # no run started
        assert current_build_id(settings) == second and checksums() == before

        # --- a price change: the changed seed and the models downstream of it, nothing else
        prices = read_rows(project / "seeds" / "model_prices.csv")
        (row,) = [
            r for r in prices if r["model"] == "gpt-4o-mini" and r["provider"] == "openai"
            and not r["valid_to"]
        ]  # fmt: skip
        row["input_usd_per_mtok"] = str(Decimal(row["input_usd_per_mtok"]) * 2)
        write_rows(project / "seeds" / "model_prices.csv", prices, list(prices[0]))
        env = {**_base_env(), **cli_env}
        repriced = subprocess.run([AIUSAGE, "build"], env=env, capture_output=True, text=True)
        assert repriced.returncode == 0, repriced.stdout[-3000:] + repriced.stderr[-3000:]
        assert repriced.stdout.startswith(
            "Refreshing only the seeds that changed (model_prices) and the models downstream"
        ), repriced.stdout[:500]
        ran = _dbt_nodes_run(settings.target_dir)
        assert "seed.aiusage.model_prices" in ran and "model.aiusage.fct_llm_requests" in ran
        assert not [n for n in ran if n.startswith("seed.") and n != "seed.aiusage.model_prices"]
        assert not [n for n in ran if ".stg_" in n or "int_request_rows" in n], ran
        third = current_build_id(settings)
        assert third != second
        # three refreshes ran dbt, each in a folder of its own: the newest two are kept
        invocations = sorted(settings.target_dir.glob("warehouse_dbt-*"))
        assert len(invocations) == 2 and all(p.is_dir() for p in invocations), invocations
        run_ids = {p.name.split("-")[1] for p in invocations}
        assert third.split("-")[-1][:7] in run_ids and second.split("-")[-1][:7] in run_ids
        after = checksums()
        assert after["fct_llm_requests"] != before["fct_llm_requests"]  # the window repriced
        assert after["fct_landed_rows"] == before["fct_landed_rows"]  # not downstream
        idle = subprocess.run([AIUSAGE, "build"], env=env, capture_output=True, text=True)
        assert idle.stdout.startswith(f"Nothing new since build {third} "), idle.stdout
    finally:  # run_refresh exports the settings; give the other tests their environment back
        _set_environ(saved)
