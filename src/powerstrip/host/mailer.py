"""Mail from the host (export links), over SMTP as `POWERSTRIP_SMTP_*` configures it.

The standard library's `smtplib` runs in a worker thread, so sending never blocks the event
loop. Without `POWERSTRIP_SMTP_HOST` nothing is sent. The password is never logged, and a
failure is reported by its kind, not by the server's words (which may quote the message).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from email.message import EmailMessage

from powerstrip.errors import NetError
from powerstrip.settings import Settings

__all__ = ["Mailer"]

logger = logging.getLogger(__name__)


class Mailer:
    """Sends plain-text mail through the configured SMTP server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def configured(self) -> bool:
        return bool(self.settings.smtp_host)

    async def send(self, to: str, subject: str, body: str) -> None:
        """Send one mail; NetError when the server cannot be reached or refuses it."""
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        try:
            await asyncio.to_thread(self._send, message)
        except (OSError, smtplib.SMTPException) as exc:
            logger.warning(
                "mail.failed host=%s error=%s", self.settings.smtp_host, type(exc).__name__
            )
            raise NetError(
                f"the mail could not be sent ({type(exc).__name__})",
                where=f"SMTP {self.settings.smtp_host}:{self.settings.smtp_port}",
                fix="check the POWERSTRIP_SMTP_* settings and that the server accepts mail",
            ) from None
        logger.info("mail.sent host=%s", self.settings.smtp_host)

    def _send(self, message: EmailMessage) -> None:
        s = self.settings
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.smtp_security == "tls":
            smtp = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=s.smtp_timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
        with smtp:
            if s.smtp_security == "starttls":
                smtp.starttls(context=context)
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
            smtp.send_message(message)
