"""API bearer tokens: `aiu_<token_id>_<secret>`, stored as sha256(salt | secret) only.

The secret is shown once, when created; the store keeps the id, the team (or admin), a
random per-token salt and the hash. Verification is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

TOKEN_PATTERN = re.compile(r"^aiu_([0-9a-f]{16})_([A-Za-z0-9_-]{32,128})$")
TEAM_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()-]{0,127}$")


@dataclass(frozen=True)
class Principal:
    token_id: str
    team: str | None
    is_admin: bool

    def can_read_team(self, team: str) -> bool:
        return self.is_admin or self.team == team


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}|{secret}".encode()).hexdigest()


def create_token(con, *, team: str | None, is_admin: bool, label: str | None = None) -> str:
    if is_admin == (team is not None):
        raise ValueError("a token is either for one team (--team) or an admin token (--admin)")
    if team is not None and not TEAM_PATTERN.match(team):
        raise ValueError(f"not a valid team name: {team!r}")
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    with con:
        con.execute(
            """insert into api_tokens (token_id, team, is_admin, salt, secret_hash, label,
                created_at) values (?, ?, ?, ?, ?, ?, ?)""",
            [
                token_id,
                team,
                int(is_admin),
                salt,
                _hash(salt, secret),
                label,
                datetime.now(UTC).isoformat(timespec="seconds"),
            ],
        )
    return f"aiu_{token_id}_{secret}"


def verify_token(con, token: str) -> Principal | None:
    match = TOKEN_PATTERN.match(token or "")
    if not match:
        return None
    token_id, secret = match.groups()
    row = con.execute(
        "select team, is_admin, salt, secret_hash from api_tokens "
        "where token_id = ? and revoked_at is null",
        [token_id],
    ).fetchone()
    if row is None:
        return None
    if not hmac.compare_digest(_hash(row["salt"], secret), row["secret_hash"]):
        return None
    return Principal(token_id=token_id, team=row["team"], is_admin=bool(row["is_admin"]))


def list_tokens(con) -> list[dict]:
    rows = con.execute(
        "select token_id, team, is_admin, label, created_at, revoked_at from api_tokens "
        "order by created_at, token_id"
    ).fetchall()
    return [dict(r) for r in rows]


def revoke_token(con, token_id: str) -> bool:
    with con:
        cursor = con.execute(
            "update api_tokens set revoked_at = ? where token_id = ? and revoked_at is null",
            [datetime.now(UTC).isoformat(timespec="seconds"), token_id],
        )
    return cursor.rowcount > 0
