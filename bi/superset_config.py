"""Superset configuration of `make bi` (read by Superset through SUPERSET_CONFIG_PATH).

Everything comes from the environment `make bi` sets (bi/run.py): the metadata database is
a local SQLite file (AIUSAGE_BI_HOME/superset.db), the secret key AIUSAGE_BI_SECRET_KEY or,
when unset, a random key kept in AIUSAGE_BI_HOME/secret_key (created once, mode 0600; never
in the repository).
"""

import os
import secrets
from pathlib import Path

HOME = Path(os.environ["AIUSAGE_BI_HOME"])
HOME.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    configured = os.environ.get("AIUSAGE_BI_SECRET_KEY")
    if configured:
        return configured
    path = HOME / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
SQLALCHEMY_DATABASE_URI = f"sqlite:///{HOME / 'superset.db'}"
# the warehouse changes with every publish: no result cache between publishes
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
FILTER_STATE_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache"}
EXPLORE_FORM_DATA_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache"}
# local use on 127.0.0.1: no rate limiter storage, no telemetry, no example data
RATELIMIT_ENABLED = False
TALISMAN_ENABLED = False
WTF_CSRF_ENABLED = True
SCARF_ANALYTICS = False
# every chart rendered at once (no virtualisation): a screenshot or a print shows them all
FEATURE_FLAGS = {"DASHBOARD_RBAC": False, "DASHBOARD_VIRTUALIZATION": False}


def DB_CONNECTION_MUTATOR(uri, params, username, security_manager, source):  # noqa: N802
    """Open the snapshot `current.duckdb` links to at the time of the query, by its own
    path: DuckDB shares one open database per path within a process, so a connection to
    the link path while an older one is still open would read the older snapshot."""
    if uri.drivername.startswith("duckdb") and uri.database:
        path = Path(uri.database)
        if path.is_symlink():
            uri = uri.set(database=os.path.realpath(path))
    return uri, params
