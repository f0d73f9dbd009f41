"""Slack delivery: Block Kit payloads for the report and alerts, and a webhook poster.

The webhook URL is a secret: it comes from SLACK_WEBHOOK_URL (or the caller), and no
message, log line or exception raised here contains it.
"""

from __future__ import annotations

from orchestration.delivery.report import (
    SECTIONS,
    format_value,
    summary_lines,
    title,
    warning_lines,
)

# One webhook poster for the whole project (retries, back-off, URL never shown).
from orchestration.notify import SlackError as SlackDeliveryError  # noqa: F401
from orchestration.notify import post_slack  # noqa: F401

MAX_SECTION_CHARS = 2900  # Slack refuses section text over 3000 characters


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
            f"{_mrkdwn_escape(alert['alert_type'])} ({_mrkdwn_escape(alert['scope'])} "
            f"{_mrkdwn_escape(alert['scope_id'])}, {alert['as_of_date']}): "
            f"{_mrkdwn_escape(alert['message'])}"
        )
    text = f"aiusage: {len(alerts)} alert(s)\n" + "\n".join(
        f"[{a['severity']}] {a['alert_type']} {a['scope']} {a['scope_id']}: {a['message']}"
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
