"""E-mail delivery over SMTP (settings.smtp: AIUSAGE_SMTP_*). The password never appears in
a message, a log line or an error."""

from __future__ import annotations

import html
import smtplib
import ssl
from email.message import EmailMessage

from aiusage.settings import SmtpSettings


class EmailDeliveryError(RuntimeError):
    pass


def build_message(smtp: SmtpSettings, subject: str, text: str, html_body: bool = True):
    """A plain-text message, with the same text as monospaced HTML when `html_body`."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = smtp.sender
    message["To"] = ", ".join(smtp.recipients)
    message.set_content(text)
    if html_body:
        message.add_alternative(
            '<html><body><pre style="font-family: ui-monospace, monospace">'
            + html.escape(text)
            + "</pre></body></html>",
            subtype="html",
        )
    return message


def send_email(
    smtp: SmtpSettings, subject: str, text: str, *, html_body: bool = True, timeout=30
) -> None:
    message = build_message(smtp, subject, text, html_body)
    try:
        if smtp.use_ssl:
            client = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        with client:
            if smtp.starttls and not smtp.use_ssl:
                client.starttls(context=ssl.create_default_context())
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            client.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        raise EmailDeliveryError(
            f"sending e-mail via {smtp.host}:{smtp.port} failed: {type(error).__name__}"
        ) from None
