"""`make bi`: Apache Superset on http://127.0.0.1:8088 over the published snapshot.

Runs with the BI venv's Python (.venv-bi, bi/requirements.txt), apart from the warehouse's.

1. The metadata database (SQLite, <bi home>/superset.db) is created or upgraded, and the
   roles and permissions set up (`superset db upgrade`, `superset init`: once per Superset
   version, recorded in <bi home>/initialised).
2. The admin user `admin` is created with the password in AIUSAGE_BI_ADMIN_PASSWORD (no
   default: `make bi` stops when it is unset), or its password reset to it.
3. The import bundle bi/bundle/ (database, datasets over the marts, charts, the dashboard
   "AI usage") is imported, the database pointing at the stable snapshot path
   (data/published/current.duckdb, read-only; the link itself, set again at every start).
   Superset opens a new connection per query, so each query reads the newest published
   snapshot without a restart.
4. `superset run` serves on 127.0.0.1 only; SIGINT or SIGTERM stops it.

Usage: python bi/run.py --snapshot PATH --home DIR [--port 8088]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUNDLE = HERE / "bundle"
PLACEHOLDER = "duckdb:///CURRENT_SNAPSHOT"
DATABASE = "aiusage_published"
HOST = "127.0.0.1"
SET_ADMIN = """
import os
from superset.app import create_app
app = create_app()
with app.app_context():
    from superset import security_manager as sm
    from superset.extensions import db
    from werkzeug.security import generate_password_hash
    password = os.environ["AIUSAGE_BI_ADMIN_PASSWORD"]
    user = sm.find_user(username="admin")
    if user is None:
        role = sm.find_role("Admin")
        sm.add_user("admin", "AI", "usage", "admin@localhost", role, password=password)
    else:
        user.password = generate_password_hash(password)
        db.session.commit()
"""


def superset(*args: str, env: dict) -> None:
    command = [str(Path(sys.executable).with_name("superset")), *args]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"`superset {' '.join(args[:2])}` failed (exit {result.returncode})")


def bundle_zip(snapshot: Path, target: Path) -> Path:
    """The bundle as Superset imports it: one zip under a root folder, the database's URI
    naming the snapshot path of this machine."""
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(BUNDLE.rglob("*.yaml")):
            text = path.read_text(encoding="utf-8")
            text = text.replace(PLACEHOLDER, f"duckdb:///{snapshot}")
            archive.writestr(f"ai_usage/{path.relative_to(BUNDLE)}", text)
    return target


def superset_version() -> str:
    from importlib.metadata import version

    return version("apache-superset")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", type=Path, required=True)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--no-serve", action="store_true", help="provision, then exit")
    args = parser.parse_args()
    password = os.environ.get("AIUSAGE_BI_ADMIN_PASSWORD")
    if not password:
        raise SystemExit("Set AIUSAGE_BI_ADMIN_PASSWORD (the password of the Superset user admin)")
    home = args.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "AIUSAGE_BI_HOME": str(home),
        "SUPERSET_CONFIG_PATH": str(HERE / "superset_config.py"),
        "FLASK_APP": "superset",
        "SUPERSET_LOAD_EXAMPLES": "no",
    }
    stamp = home / "initialised"
    if not stamp.exists() or stamp.read_text().strip() != superset_version():
        print("Setting up the Superset metadata database (first run: about a minute)", flush=True)
        superset("db", "upgrade", env=env)
        superset("init", env=env)
        stamp.write_text(superset_version() + "\n")
    else:
        superset("db", "upgrade", env=env)
    # create the admin, or set its password to the one in the environment (read there by
    # the snippet: the password is in no command line, no log)
    result = subprocess.run([sys.executable, "-c", SET_ADMIN], env=env, capture_output=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr.decode(errors="replace")[-4000:])
        raise SystemExit("Could not create or update the Superset user admin")
    with tempfile.TemporaryDirectory() as scratch:
        # absolute, not resolved: the link, never the snapshot it names today
        archive = bundle_zip(args.snapshot.absolute(), Path(scratch) / "ai_usage.zip")
        superset("import-dashboards", "--path", str(archive), "--username", "admin", env=env)
    # an import never changes a database that exists: set its URI to this run's path
    uri = f"duckdb:///{args.snapshot.absolute()}"
    superset("set-database-uri", "--database_name", DATABASE, "--uri", uri, env=env)
    print(f"Dashboard 'AI usage' provisioned over {args.snapshot}", flush=True)
    if args.no_serve:
        return 0
    print(f"Superset on http://{HOST}:{args.port} (user admin)", flush=True)
    command = [str(Path(sys.executable).with_name("superset")), "run", "-h", HOST]
    os.execve(command[0], [*command, "-p", str(args.port), "--with-threads"], env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
