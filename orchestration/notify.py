"""Slack incoming-webhook poster, shared by the run-failure alert, the weekly report and any
other delivery.

    post_slack({"text": "hello"})                 # uses SLACK_WEBHOOK_URL; False when unset
    post_slack(payload, webhook_url="https://...")

Retries with exponential back-off on HTTP 429 (honouring Retry-After, capped) and 5xx and on
network errors; a 4xx other than 429 is not retried. The webhook URL is a secret: it never
appears in a log line, an exception or a return value.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable

log = logging.getLogger(__name__)

WEBHOOK_ENV = "SLACK_WEBHOOK_URL"
MAX_RETRY_AFTER_SECONDS = 60.0


class SlackError(RuntimeError):
    """Slack did not accept the message (the URL is never part of the message)."""


def slack_configured(webhook_url: str | None = None) -> bool:
    return bool(webhook_url or os.environ.get(WEBHOOK_ENV))


def post_slack(
    payload: dict,
    webhook_url: str | None = None,
    *,
    attempts: int = 4,
    backoff_seconds: float = 1.0,
    timeout_seconds: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """POST `payload` as JSON to the webhook. Returns 0 when no webhook is configured, else
    the number of attempts it took once Slack answered 2xx (retrying 429, honouring
    Retry-After, and 5xx and network errors with exponential back-off); raises SlackError
    (never containing the URL) after the last failed attempt or on another 4xx."""
    url = webhook_url or os.environ.get(WEBHOOK_ENV)
    if not url:
        return 0
    if not url.startswith(("https://", "http://")):
        raise SlackError(f"{WEBHOOK_ENV} is not an http(s) URL")
    body = json.dumps(payload).encode("utf-8")
    last_problem = "no attempt made"
    for attempt in range(1, max(1, attempts) + 1):
        delay = backoff_seconds * 2 ** (attempt - 1)
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_seconds) as response:
                response.read()
            return attempt
        except urllib.error.HTTPError as error:
            status = error.code
            last_problem = f"HTTP {status}"
            if status == 429:
                retry_after = _seconds(error.headers.get("Retry-After"))
                if retry_after is not None:
                    delay = min(retry_after, MAX_RETRY_AFTER_SECONDS)
            elif status < 500:
                raise SlackError(f"Slack refused the message: HTTP {status}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            last_problem = f"network error ({type(reason).__name__})"
        if attempt < attempts:
            log.warning(
                "Slack post failed (%s), attempt %d of %d; retrying in %.1fs",
                last_problem,
                attempt,
                attempts,
                delay,
            )
            sleep(delay)
    raise SlackError(f"Slack post failed after {attempts} attempts: {last_problem}")


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
