"""Checksum every mart of a warehouse built from one fixed, generated landing.

    python bench/mart_checksums.py --output before.json          # build and checksum
    python bench/mart_checksums.py --compare before.json         # build, checksum, compare
    python bench/mart_checksums.py --last-day-later --compare before.json

The landing is the same on every run: 10 days x 1,000 generated events (seed 11, ending
2026-11-20) plus the example exports of every other source (examples/), landed with
`aiusage ingest`. The warehouse is built with `aiusage build` (the Dagster refresh job)
in a temporary folder, then each relation named fct_*, dim_* or rpt_* is checksummed (not
the facts' withdrawal logs, <fact>__withdrawn: a log of each incremental refresh, which a
build from nothing does not have; macros/withdrawn_records.sql):
its column names and types, its row count and the md5 of its rows' text, sorted (so the
checksum does not depend on row order). A refactoring that must not change any figure
compares the checksums taken before and after it; exit 1 names every mart that differs.
With --last-day-later, the last landing day (2026-11-20) is held back from the first build
and landed before a second, incremental refresh: its checksums must equal those of the
build from everything (an incremental refresh changes no figure).

Only the `aiusage` command line is used, so the script runs against any version of the
project that has `generate`, `ingest` and `build`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

PROJECT_DIR = Path(__file__).resolve().parents[1]
WITHDRAWAL_LOG = "__withdrawn"  # the suffix of a fact's withdrawal log (not a mart)
EXAMPLES = {
    "openai_usage": "openai_usage_completions.json",
    "anthropic_usage": "anthropic_usage_messages.json",
    "litellm_spend_logs": "litellm_spend_logs.csv",
    "langfuse_observations": "langfuse_observations.json",
}
CHECKSUM_SQL = """
    select
        count(*) as row_count,
        coalesce(md5(string_agg(row_hash, '' order by row_hash)), '') as content_md5
    from (select md5(cast(t as varchar)) as row_hash from main."{name}" as t)
"""


def aiusage(env: dict[str, str], *args: str) -> str:
    """Run the command line; its output, or exit with it when the command fails."""
    executable = Path(sys.executable).with_name("aiusage")
    completed = subprocess.run(
        [str(executable), *args], cwd=PROJECT_DIR, env=env, capture_output=True, text=True
    )
    if completed.returncode != 0:
        output = completed.stdout[-3000:] + completed.stderr[-3000:]
        sys.exit(f"aiusage {' '.join(args)} failed:\n{output}")
    return completed.stdout


LAST_DAY = "dt=2026-11-20"


def build(root: Path, last_day_later: bool = False) -> Path:
    env = {
        **os.environ,
        "AIUSAGE_PROJECT_DIR": str(PROJECT_DIR),
        "AIUSAGE_LANDING_DIR": str(root / "landing"),
        "AIUSAGE_DUCKDB_PATH": str(root / "warehouse.duckdb"),
        "AIUSAGE_PUBLISHED_DIR": str(root / "published"),
        "AIUSAGE_GX_DOCS_DIR": str(root / "gx_docs"),
        "AIUSAGE_REPORTS_DIR": str(root / "reports"),
        "AIUSAGE_DELIVERY_STATE_PATH": str(root / "delivery_state.sqlite"),
    }
    for secret in ("SLACK_WEBHOOK_URL", "AIUSAGE_SMTP_HOST"):
        env.pop(secret, None)
    generate = ["generate", "--days", "10", "--events-per-day", "1000", "--seed", "11",
                "--end-date", "2026-11-20", "--no-progress"]  # fmt: skip
    if "--no-planted" in aiusage(env, "generate", "--help"):
        generate.append("--no-planted")  # the landing of versions before the planted causes
    aiusage(env, *generate)
    for source, name in EXAMPLES.items():
        aiusage(env, "ingest", source, str(PROJECT_DIR / "examples" / name),
                "--landing-date", "2026-11-19")  # fmt: skip
    aiusage(env, "ingest", "events", str(PROJECT_DIR / "examples" / "events.jsonl"),
            "--landing-date", "2026-11-20")  # fmt: skip
    if last_day_later:
        held = root / "held"
        for folder in sorted((root / "landing").glob(f"*/{LAST_DAY}")):
            target = held / folder.parent.name / LAST_DAY
            target.parent.mkdir(parents=True)
            folder.rename(target)
        aiusage(env, "build", "--quiet")
        for folder in sorted(held.glob(f"*/{LAST_DAY}")):
            folder.rename(root / "landing" / folder.parent.name / LAST_DAY)
    aiusage(env, "build", "--quiet")
    return root / "warehouse.duckdb"


def checksums(duckdb_path: Path) -> dict[str, dict]:
    out: dict[str, dict] = {}
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        names = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'main' "
                "order by table_name"
            ).fetchall()
            if name.startswith(("fct_", "dim_", "rpt_")) and not name.endswith(WITHDRAWAL_LOG)
        ]
        for name in names:
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'main' and table_name = ? order by ordinal_position",
                [name],
            ).fetchall()
            rows, content = con.execute(CHECKSUM_SQL.format(name=name)).fetchone()
            out[name] = {
                "columns": [f"{column} {kind}" for column, kind in columns],
                "rows": rows,
                "content_md5": content,
            }
    return out


def compare(before: dict, after: dict) -> list[str]:
    problems = []
    for name in sorted(set(before) | set(after)):
        if name not in after:
            problems.append(f"{name}: missing after")
        elif name not in before:
            problems.append(f"{name}: new (no checksum before)")
        elif before[name] != after[name]:
            what = [
                key
                for key in ("columns", "rows", "content_md5")
                if before[name][key] != after[name][key]
            ]
            problems.append(f"{name}: {', '.join(what)} differ")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, help="write the checksums (JSON) here")
    parser.add_argument("--compare", type=Path, help="checksums taken before, to compare with")
    parser.add_argument(
        "--last-day-later",
        action="store_true",
        help="build without the last landing day, then land it and refresh",
    )
    parser.add_argument(
        "--folder",
        type=Path,
        default=Path(tempfile.gettempdir()) / "aiusage-mart-checksums",
        help="where to build (emptied first; the landed file paths are part of some marts, "
        "so runs to compare must use the same folder)",
    )
    args = parser.parse_args()
    root = args.folder.resolve()
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    result = checksums(build(root, args.last_day_later))
    text = json.dumps(result, indent=2, sort_keys=True) + "\n"
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    print(
        f"{len(result)} marts checksummed: "
        + ", ".join(f"{n} ({v['rows']})" for n, v in result.items())
    )
    if args.compare:
        problems = compare(json.loads(args.compare.read_text(encoding="utf-8")), result)
        if problems:
            print("DIFFERENT:\n  " + "\n  ".join(problems))
            return 1
        print(f"identical: every one of the {len(result)} marts matches {args.compare}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
