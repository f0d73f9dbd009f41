"""E-mail delivery over SMTP. Settings come from the environment:

| variable | meaning |
|---|---|
| AIUSAGE_SMTP_HOST | SMTP server (required to send) |
| AIUSAGE_SMTP_PORT | port (default 587 with STARTTLS, else 25) |
| AIUSAGE_SMTP_STARTTLS | `true` (default) / `false` |
| AIUSAGE_SMTP_SSL | `true` for implicit TLS (port 465) |
| AIUSAGE_SMTP_USER, AIUSAGE_SMTP_PASSWORD | login, when needed (a secret: never printed) |
| AIUSAGE_SMTP_FROM | sender address (required) |
| AIUSAGE_SMTP_TO | recipients, comma separated (required) |
"""

from __future__ import annotations

import html
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage


class EmailDeliveryError(RuntimeError):
    pass


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    starttls: bool
    use_ssl: bool
    user: str | None
    password: str | None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> SmtpSettings | None:
        """The SMTP settings, or None when AIUSAGE_SMTP_HOST is not set (e-mail disabled)."""
        env = dict(os.environ if env is None else env)
        host = env.get("AIUSAGE_SMTP_HOST")
        if not host:
            return None
        use_ssl = _flag(env.get("AIUSAGE_SMTP_SSL"), False)
        starttls = _flag(env.get("AIUSAGE_SMTP_STARTTLS"), not use_ssl)
        port = int(env.get("AIUSAGE_SMTP_PORT") or (465 if use_ssl else 587 if starttls else 25))
        sender = env.get("AIUSAGE_SMTP_FROM")
        recipients = tuple(
            r.strip() for r in (env.get("AIUSAGE_SMTP_TO") or "").split(",") if r.strip()
        )
        if not sender or not recipients:
            raise EmailDeliveryError("AIUSAGE_SMTP_FROM and AIUSAGE_SMTP_TO must be set")
        return cls(
            host=host,
            port=port,
            sender=sender,
            recipients=recipients,
            starttls=starttls,
            use_ssl=use_ssl,
            user=env.get("AIUSAGE_SMTP_USER") or None,
            password=env.get("AIUSAGE_SMTP_PASSWORD") or None,
        )


def build_message(settings: SmtpSettings, subject: str, text: str, markdown: str | None = None):
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    message.set_content(text)
    if markdown is not None:
        message.add_alternative(
            '<html><body><pre style="font-family: ui-monospace, monospace">'
            + html.escape(text)
            + "</pre></body></html>",
            subtype="html",
        )
    return message


def send_email(
    settings: SmtpSettings, subject: str, text: str, *, html_body: bool = True, timeout=30
) -> None:
    message = build_message(settings, subject, text, text if html_body else None)
    try:
        if settings.use_ssl:
            client = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        with client:
            if settings.starttls and not settings.use_ssl:
                client.starttls(context=ssl.create_default_context())
            if settings.user:
                client.login(settings.user, settings.password or "")
            client.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        raise EmailDeliveryError(
            f"sending e-mail via {settings.host}:{settings.port} failed: {type(error).__name__}"
        ) from None
