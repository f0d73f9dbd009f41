"""The README's first quick-start command, `make demo` (`aiusage demo`): sample data, the
refresh job end to end, the report, and where to explore, checked against the landed files
read independently of the warehouse (tests/support/reference.py)."""

from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.conftest import PROJECT_DIR
from tests.support.cli_env import AIUSAGE, warehouse_env
from tests.support.reference import read_landing

pytestmark = pytest.mark.slow


def test_the_demo_builds_publishes_and_reports_the_landed_requests(tmp_path):
    run = subprocess.run(
        [AIUSAGE, "demo", "--days", "3", "--events-per-day", "1500", "--seed", "11"],
        cwd=PROJECT_DIR,
        env=warehouse_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    landing = read_landing(tmp_path / "landing")
    assert len(landing.requests) > 3000 and sum(landing.rejected.values()) > 0

    # the report of the last 7 days: every landed request that occurred in its period
    period = re.search(r"AI USAGE REPORT  (\S+) \.\. (\S+) \(7 days\)", out)
    assert period, out[-3000:]
    start, end = (date.fromisoformat(day) for day in period.groups())
    in_period = sum(
        start <= event["occurred_at"].date() <= end for event in landing.requests.values()
    )
    assert re.search(rf"^  Requests: +{in_period:,}$", out, re.MULTILINE), out[-3000:]

    # the closing hint names the published snapshot (what readers open), and it holds
    # every landed request and every rejected line
    hint = re.search(r"^Explore the published marts: duckdb -readonly (.+)$", out, re.MULTILINE)
    assert hint, out[-1000:]
    stable = Path(hint.group(1))
    assert stable == tmp_path / "published" / "current.duckdb"
    with duckdb.connect(str(stable), read_only=True) as con:
        (requests,) = con.execute("select sum(requests) from fct_daily_usage").fetchone()
        rejected = dict(
            con.execute(
                "select rejection_reason, count(*) from fct_rejected_events group by 1"
            ).fetchall()
        )
    assert requests == len(landing.requests)
    assert rejected == dict(landing.rejected)
