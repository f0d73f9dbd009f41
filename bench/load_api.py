"""Load benchmark of the team API (not part of the test suite): `make bench-api`.

    python bench/load_api.py --clients 50 --duration 30

Builds a sample warehouse once (generated data, `aiusage build`, cached under
bench/.cache/api_<days>d_<events>/, reused while it is published there), creates a team token and an
admin token, starts `aiusage serve` on 127.0.0.1 in a subprocess, and drives `--clients`
concurrent clients (asyncio, one keep-alive HTTP/1.1 connection each, sending the next
request as soon as the previous answer arrives) for `--duration` seconds against the main
endpoints, half of them with the team token, half with the admin token, over two periods (7
and 30 days). One pass
over every request shape warms the server up first (not measured).

Prints a Markdown table: requests, requests/s, p50/p95/p99/max latency and errors (any
answer other than 200, or a transport error) per endpoint. The server runs with a rate
limit high enough not to throttle the benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
END_DATE = date(2026, 11, 20)
AIUSAGE = str(Path(sys.executable).with_name("aiusage"))


def environment(work: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DBT_PROFILES_DIR": str(ROOT),
        "AIUSAGE_LANDING_DIR": str(work / "landing"),
        "AIUSAGE_DUCKDB_PATH": str(work / "warehouse.duckdb"),
        "AIUSAGE_PUBLISHED_DIR": str(work / "published"),
        "AIUSAGE_GX_DOCS_DIR": str(work / "gx_docs"),
        "AIUSAGE_REPORTS_DIR": str(work / "reports"),
        "AIUSAGE_DELIVERY_STATE_PATH": str(work / "state.sqlite"),
        "GX_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }


def run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def warehouse(work: Path, days: int, per_day: int) -> dict[str, str]:
    """The environment of a published sample warehouse in `work`, built when missing."""
    env = environment(work)
    if not (work / "published" / "CURRENT").exists():
        work.mkdir(parents=True, exist_ok=True)
        print(f"building a sample warehouse in {work} ...", file=sys.stderr)
        run(
            [AIUSAGE, "generate", "--days", str(days), "--events-per-day", str(per_day),
             "--seed", "11", "--end-date", END_DATE.isoformat(), "--no-progress"],
            env,
        )  # fmt: skip
        run([AIUSAGE, "build"], env)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def busiest_team(env: dict[str, str]) -> str:
    import duckdb

    sys.path.insert(0, str(ROOT))
    from aiusage.settings import Settings
    from aiusage.snapshot import reader_duckdb_path

    path = reader_duckdb_path(Settings.from_env(env))
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "select team from fct_daily_usage group by team order by sum(requests) desc limit 1"
        ).fetchone()[0]


def request_shapes(team: str, tokens: dict[str, str]) -> list[tuple[str, str, dict, str]]:
    """(label, path, params, token) of every request the clients cycle through."""
    shapes = []
    for days in (7, 30):
        for who in ("team", "admin"):
            token = tokens[who]
            shapes += [
                ("GET /api/v1/teams/{team}/usage", f"/api/v1/teams/{team}/usage",
                 {"days": days}, token),
                ("GET /api/v1/report", "/api/v1/report", {"days": days}, token),
                ("GET /api/v1/models", "/api/v1/models", {"days": days}, token),
                ("GET /api/v1/dashboard", "/api/v1/dashboard", {"days": days}, token),
                ("GET /api/v1/budgets", "/api/v1/budgets", {"days": days}, token),
                ("GET /api/v1/alerts", "/api/v1/alerts", {"days": days}, token),
                ("GET /api/v1/substitutions", "/api/v1/substitutions", {"days": days}, token),
                ("GET /api/v1/me", "/api/v1/me", {}, token),
            ]  # fmt: skip
    shapes.append(("GET /health", "/health", {}, ""))
    return shapes


class Connection:
    """A minimal keep-alive HTTP/1.1 client connection (GET only): far less client CPU per
    request than a full client library, so the numbers measure the server."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def get(self, target: str, token: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        self.writer.write(f"GET {target} HTTP/1.1\r\nHost: {self.host}\r\n{auth}\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        if length is None:
            raise ConnectionError(f"no Content-Length in the answer to {target}")
        await self.reader.readexactly(int(length.group(1)))
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()


async def drive(port: int, shapes, clients: int, duration: float):
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    targets = [
        (label, path + ("?" + urlencode(params) if params else ""), token)
        for label, path, params, token in shapes
    ]

    async def call(connection: Connection, target) -> tuple[float, bool]:
        _, url, token = target
        start = time.perf_counter()
        try:
            ok = await connection.get(url, token) == 200
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError):
            await connection.close()
            connection.writer = None
            ok = False
        return time.perf_counter() - start, ok

    warm = Connection("127.0.0.1", port)
    for target in targets:  # warm-up, not measured
        await call(warm, target)
    await warm.close()

    deadline = time.perf_counter() + duration

    async def client(offset: int):
        connection = Connection("127.0.0.1", port)
        i = offset
        while time.perf_counter() < deadline:
            target = targets[i % len(targets)]
            elapsed, ok = await call(connection, target)
            latencies[target[0]].append(elapsed)
            if not ok:
                errors[target[0]] += 1
            i += 1
        await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(n * 7) for n in range(clients)))
    wall = time.perf_counter() - started
    return latencies, errors, wall


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def table(latencies, errors, wall: float) -> str:
    lines = [
        "| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    everything = []
    for label in sorted(latencies):
        values = latencies[label]
        everything += values
        lines.append(row(label, values, errors.get(label, 0), wall))
    lines.append(row("**all**", everything, sum(errors.values()), wall))
    return "\n".join(lines)


def row(label: str, values: list[float], errors: int, wall: float) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"| {label} | {len(ms)} | {len(ms) / wall:.0f} | {statistics.median(ms):.1f} | "
        f"{percentile(ms, 95):.1f} | {percentile(ms, 99):.1f} | {max(ms):.1f} | {errors} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds")
    parser.add_argument("--days", type=int, default=30, help="days of generated data")
    parser.add_argument("--events-per-day", type=int, default=2000)
    args = parser.parse_args()

    work = CACHE / f"api_{args.days}d_{args.events_per_day}"
    env = warehouse(work, args.days, args.events_per_day)
    team = busiest_team(env)
    tokens = {
        "team": run([AIUSAGE, "tokens", "create", "--team", team, "--label", "bench"], env)
        .strip()
        .splitlines()[0],
        "admin": run([AIUSAGE, "tokens", "create", "--admin", "--label", "bench"], env)
        .strip()
        .splitlines()[0],
    }
    port = free_port()
    server = subprocess.Popen(
        [AIUSAGE, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**env, "AIUSAGE_API_RATE_LIMIT": "100000000"},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("aiusage serve did not start")
            time.sleep(0.2)
        shapes = request_shapes(team, tokens)
        cpu_before = cpu_seconds(server.pid)
        latencies, errors, wall = asyncio.run(drive(port, shapes, args.clients, args.duration))
        server_cpu = cpu_seconds(server.pid) - cpu_before
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    print(
        f"{args.clients} clients for {wall:.1f} s against `aiusage serve` on 127.0.0.1 "
        f"({args.days} days x {args.events_per_day} events/day; {os.cpu_count()} CPUs, "
        f"{platform.python_implementation()} {platform.python_version()})\n"
    )
    print(table(latencies, errors, wall))
    served = sum(len(v) for v in latencies.values())
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\nServer CPU: {server_cpu:.1f} s for {served} requests "
        f"({1000 * server_cpu / max(served, 1):.2f} ms per request, warm-up excluded); "
        f"1-minute load average at the end: {load:.1f}."
    )


if __name__ == "__main__":
    main()
