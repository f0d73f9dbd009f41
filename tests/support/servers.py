"""Real local servers for delivery tests, all on 127.0.0.1: a recording webhook, a recording
SMTP server, the API under uvicorn, and a headless Chromium driven over the DevTools
protocol."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class RecordingWebhook:
    """An HTTP server that records every POST and answers with the scripted statuses
    (then 200): e.g. [(429, {"Retry-After": "0"}), (503, {})]."""

    def __init__(self, script=None):
        self.script = list(script or [])
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                status, headers = outer.script.pop(0) if outer.script else (200, {})
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"rate_limited")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address
        return f"http://{host}:{port}/services/T000/B000/secret-part"

    def payloads(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class RecordingSmtp:
    """An SMTP server (aiosmtpd) on 127.0.0.1 that records every message it accepts.

    `env()` gives the AIUSAGE_SMTP_* variables that point the warehouse at it."""

    def __init__(self):
        self.messages: list = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                outer.messages.append(envelope)
                return "250 OK"

        with socket.socket() as probe:  # a free port (aiosmtpd cannot start on port 0)
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        from aiosmtpd.controller import Controller

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def env(self, to: str = "lead@example.test, finance@example.test") -> dict[str, str]:
        return {
            "AIUSAGE_SMTP_HOST": "127.0.0.1",
            "AIUSAGE_SMTP_PORT": str(self.port),
            "AIUSAGE_SMTP_STARTTLS": "false",
            "AIUSAGE_SMTP_FROM": "aiusage@example.test",
            "AIUSAGE_SMTP_TO": to,
        }

    def parsed(self) -> list:
        """The accepted messages as email.message.EmailMessage objects."""
        import email
        from email import policy

        return [email.message_from_bytes(m.content, policy=policy.default) for m in self.messages]

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


@contextlib.contextmanager
def run_uvicorn(app):
    """Serve an ASGI app on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Browser:
    """Headless Chromium over the DevTools protocol (websockets): navigate, collect console
    errors and exceptions, evaluate JavaScript, take screenshots."""

    FLAGS = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--remote-debugging-port=0",
        "--window-size=1400,2200",
    ]

    def __init__(self, executable: str):
        self.profile = tempfile.mkdtemp(prefix="aiusage-chromium-")
        self.process = subprocess.Popen(
            [executable, *self.FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 20
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise RuntimeError("Chromium did not open its DevTools port")
            time.sleep(0.05)
        port = int(port_file.read_text().splitlines()[0])
        self.port = port
        self._id = 0
        self.console_errors: list[str] = []
        self.ws = None

    def open_page(self):
        import urllib.request

        from websockets.sync.client import connect

        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list") as r:
                    targets = json.load(r)
                page = next(t for t in targets if t["type"] == "page")
                break
            except (OSError, StopIteration):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self._connection = contextlib.ExitStack()
        self.ws = self._connection.enter_context(
            connect(page["webSocketDebuggerUrl"], max_size=64 * 1024 * 1024)
        )
        for method in ("Runtime.enable", "Log.enable", "Page.enable"):
            self.call(method)

    def _record(self, message: dict) -> None:
        method = message.get("method")
        params = message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.console_errors.append(
                " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            )
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.console_errors.append(
                details.get("exception", {}).get("description") or details.get("text", "")
            )
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.console_errors.append(params["entry"]["text"])

    def call(self, method: str, **params):
        self._id += 1
        ident = self._id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=30))
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._record(message)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def navigate(self, url: str, timeout: float = 20.0) -> None:
        """Open url and wait for its load event (console errors of the page are recorded)."""
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("method") == "Page.loadEventFired":
                return
            self._record(message)
        raise TimeoutError(f"{url} did not load")

    def blank(self) -> None:
        """Leave the current page (so none of its requests outlive a test's server)."""
        self.navigate("about:blank")
        self.console_errors.clear()

    def wait_for(self, expression: str, timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"timed out waiting for {expression}")

    def screenshot(self, path: Path) -> None:
        result = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(result["data"]))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.ws is not None:
                self._connection.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)


def keep_artifact(path: Path) -> None:
    """Copy a screenshot to AIUSAGE_TEST_ARTIFACTS, when set, for a person to look at."""
    target = os.environ.get("AIUSAGE_TEST_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)
