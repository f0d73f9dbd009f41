"""The delivery state file: a small SQLite database next to the warehouse, never inside the
marts (marts are rebuilt and published; this is operational state).

Tables:
- alert_state: one row per alert_key ever sent, its last sent severity, whether it is active;
- alert_history: every delivery event (sent, escalated, cleared, failed), append-only;
- report_deliveries: every report sent (period, kind, channels), so the weekly report of a
  week goes out once whichever refresh runs first;
- api_tokens: API bearer tokens, hashed (sha256 over a per-token salt and the secret).

Path: settings.delivery_state_path (AIUSAGE_DELIVERY_STATE_PATH, default
`<directory of the warehouse>/delivery_state.sqlite`).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
create table if not exists alert_state (
    alert_key text primary key,
    alert_type text not null,
    scope text not null,
    scope_id text not null,
    severity text not null,
    is_active integer not null,
    first_sent_at text not null,
    last_sent_at text not null,
    cleared_at text,
    send_count integer not null
);
create table if not exists alert_history (
    event_id integer primary key autoincrement,
    alert_key text not null,
    event text not null check (event in ('sent', 'escalated', 'cleared', 'failed')),
    severity text,
    measured_value real,
    threshold real,
    as_of_date text,
    message text,
    channels text,
    detail text,
    recorded_at text not null
);
create table if not exists report_deliveries (
    delivery_id integer primary key autoincrement,
    kind text not null check (kind in ('weekly', 'on_demand')),
    period_start text not null,
    period_end text not null,
    filters text not null,
    channels text not null,
    delivered_at text not null
);
create table if not exists api_tokens (
    token_id text primary key,
    team text,
    is_admin integer not null,
    salt text not null,
    secret_hash text not null,
    label text,
    created_at text not null,
    revoked_at text
);
"""


def connect_state(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(str(path), timeout=30)
    con.row_factory = sqlite3.Row
    con.executescript(SCHEMA)
    return con
