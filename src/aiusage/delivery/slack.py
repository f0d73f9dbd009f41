"""Slack: the one webhook poster of the project (reports, alerts, failed runs) and the Block
Kit payloads it posts.

The webhook URL is a secret: it comes from the settings (SLACK_WEBHOOK_URL), and no
message, log line or exception raised here contains it. Posting retries with exponential
back-off on HTTP 429 (honouring Retry-After, capped) and 5xx and on network errors; a 4xx
other than 429 is not retried.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from aiusage.reporting.render import format_value, summary_lines, title, warning_lines
from aiusage.reporting.sections import SECTIONS

log = logging.getLogger(__name__)

MAX_RETRY_AFTER_SECONDS = 60.0
MAX_SECTION_CHARS = 2900  # Slack refuses section text over 3000 characters


class SlackError(RuntimeError):
    """Slack did not accept the message (the URL is never part of the message)."""


def post_slack(
    payload: dict,
    webhook_url: str | None,
    *,
    attempts: int = 4,
    backoff_seconds: float = 1.0,
    timeout_seconds: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """POST `payload` as JSON to the webhook (settings.slack_webhook_url). Returns 0 when no
    webhook is configured, else the number of attempts it took once Slack answered 2xx
    (retrying 429, honouring Retry-After, and 5xx and network errors with exponential
    back-off); raises SlackError (never containing the URL) after the last failed attempt or
    on another 4xx."""
    url = webhook_url
    if not url:
        return 0
    if not url.startswith(("https://", "http://")):
        raise SlackError("SLACK_WEBHOOK_URL is not an http(s) URL")
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


def _truncate(text: str, limit: int = MAX_SECTION_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 2] + " …"


def _mrkdwn_escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


SLACK_SECTIONS = {  # section key -> (rows shown, label columns, value columns)
    "by_team": 8,
    "by_client": 5,
    "by_workflow": 5,
    "by_model": 5,
}
#: Insight sections (docs/insights.md): section key -> (rows shown, the figures shown)
INSIGHT_SLACK_SECTIONS = {
    "cost_drivers": (3, ("delta_usd",)),
    "runaway_sessions": (5, ("requests", "cost_usd")),
    "savings": (5, ("monthly_savings_usd",)),
}


def report_payload(report: dict) -> dict:
    """A Block Kit message with a plain-text fallback (`text`) that reads on its own."""
    fallback_lines = [title(report)]
    fallback_lines += [f"{label}: {value}" for label, value in summary_lines(report)]
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": _truncate(title(report), 150)}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{label}*\n{_mrkdwn_escape(value)}"}
                for label, value in summary_lines(report)
            ],
        },
    ]
    by_key = {s.key: s for s in SECTIONS}
    for key, limit in SLACK_SECTIONS.items():
        rows = report.get(key) or []
        if not rows:
            continue
        section = by_key[key]
        labels = [c for c in section.columns if c.kind == "text"]
        lines = []
        for row in rows[:limit]:
            name = " / ".join(str(row.get(c.key)) for c in labels)
            lines.append(
                f"• {_mrkdwn_escape(name)}: *{format_value(row['total_cost_usd'], 'money')}*, "
                f"{format_value(row['requests'], 'int')} requests, "
                f"success {format_value(row.get('success_rate'), 'pct')}"
            )
        more = len(rows) - limit
        if more > 0:
            lines.append(f"_… and {more} more_")
        blocks.append({"type": "divider"})
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": _truncate(f"*{section.title}*\n" + "\n".join(lines)),
                },
            }
        )
        fallback_lines.append(f"{section.title}: " + "; ".join(line[2:] for line in lines[:3]))
    for key, (limit, figures) in INSIGHT_SLACK_SECTIONS.items():
        rows = report.get(key) or []
        if not rows:
            continue
        section = by_key[key]
        labels = [c for c in section.columns if c.kind == "text"]
        kinds = {c.key: c for c in section.columns}
        lines = [
            f"• {_mrkdwn_escape(' / '.join(str(row.get(c.key)) for c in labels))}: "
            + ", ".join(
                f"{kinds[f].label} *{format_value(row.get(f), kinds[f].kind)}*" for f in figures
            )
            for row in rows[:limit]
        ]
        blocks.append({"type": "divider"})
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": _truncate(f"*{section.title}*\n" + "\n".join(lines)),
                },
            }
        )
        fallback_lines.append(f"{section.title}: " + "; ".join(line[2:] for line in lines[:3]))
    warnings = warning_lines(report)
    blocks.append({"type": "divider"})
    blocks.append(
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": _truncate(
                    "*Warnings*\n"
                    + ("\n".join(f":warning: {_mrkdwn_escape(w)}" for w in warnings) or "None.")
                ),
            },
        }
    )
    fallback_lines += warnings
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Full report: `aiusage report --format markdown`; "
                    "team data: the aiusage API and dashboard.",
                }
            ],
        }
    )
    return {"text": _truncate("\n".join(fallback_lines), 3000), "blocks": blocks}


SEVERITY_EMOJI = {"warning": ":warning:", "critical": ":rotating_light:"}


def alerts_payload(alerts: list[dict], *, escalated: set[str] | None = None) -> dict:
    escalated = escalated or set()
    lines = []
    for alert in alerts:
        verb = "ESCALATED" if alert["alert_key"] in escalated else "NEW"
        lines.append(
            f"{SEVERITY_EMOJI.get(alert['severity'], '')} *{verb} {alert['severity']}* "
            f"{_mrkdwn_escape(alert['alert_type'])} ({_mrkdwn_escape(alert['scope_type'])} "
            f"{_mrkdwn_escape(alert['scope_id'])}, {alert['as_of_date']}): "
            f"{_mrkdwn_escape(alert['message'])}"
        )
    text = f"aiusage: {len(alerts)} alert(s)\n" + "\n".join(
        f"[{a['severity']}] {a['alert_type']} {a['scope_type']} {a['scope_id']}: {a['message']}"
        for a in alerts
    )
    blocks = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"aiusage: {len(alerts)} alert(s)"},
        }
    ]
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > MAX_SECTION_CHARS:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
            chunk = []
        chunk.append(_truncate(line))
    if chunk:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
    return {"text": _truncate(text, 3000), "blocks": blocks[:50]}


def failure_payload(job_name: str, run_id: str, step_errors: list[tuple[str, str]]) -> dict:
    """A failed run: its job, its id and the first line of each failed step's error."""
    lines = [f":rotating_light: aiusage run failed: job `{job_name}`, run `{run_id}`"]
    for step, message in step_errors[:10]:
        first = message.strip().splitlines()[0] if message.strip() else "unknown error"
        lines.append(f"• `{step}`: {_mrkdwn_escape(first[:500])}")
    if len(step_errors) > 10:
        lines.append(f"… and {len(step_errors) - 10} more failed steps")
    return {"text": "\n".join(lines)}
