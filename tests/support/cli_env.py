"""Environment for `aiusage` subprocesses in tests: every path under one root, no real
notification targets."""

from __future__ import annotations

import os
from pathlib import Path


def warehouse_env(root: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "AIUSAGE_LANDING_DIR": str(root / "landing"),
        "AIUSAGE_DUCKDB_PATH": str(root / "warehouse.duckdb"),
        "AIUSAGE_PUBLISHED_DIR": str(root / "published"),
        "AIUSAGE_GX_DOCS_DIR": str(root / "gx_docs"),
        "AIUSAGE_REPORTS_DIR": str(root / "reports"),
        "AIUSAGE_DELIVERY_STATE_PATH": str(root / "delivery_state.sqlite"),
    }
    env.pop("SLACK_WEBHOOK_URL", None)
    env.pop("AIUSAGE_SMTP_HOST", None)
    env.update(extra)
    return env
