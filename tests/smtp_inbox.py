"""A real SMTP server on loopback (aiosmtpd) that keeps every mail it accepts.

    with SmtpInbox() as inbox:            # inbox.port, inbox.mails, inbox.arrived
    with SmtpInbox(stall_first=1) as inbox:
        ...                               # the first mail's DATA is never answered

`stall_first` holds the first N mails at DATA without an answer (so none of them is accepted)
and sets `stalled` when the first arrives: a sender killed there has delivered nothing, as with
a real server whose client vanished before the final reply.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from email import message_from_bytes
from email.message import Message as MailMessage
from typing import Any

from aiosmtpd.controller import Controller

__all__ = ["SmtpInbox"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpInbox:
    """aiosmtpd's handler and its server: every accepted mail, and events when they come."""

    def __init__(self, *, stall_first: int = 0) -> None:
        self.mails: list[tuple[list[str], MailMessage]] = []
        self.arrived = threading.Event()
        self.stalled = threading.Event()
        self._stall_left = stall_first
        self._release = asyncio.Event()
        self.port = _free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self._stall_left > 0:
            self._stall_left -= 1
            self.stalled.set()
            await self._release.wait()  # until the server stops: never answered, never accepted
            return "451 not accepted"
        self.mails.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        self.arrived.set()
        return "250 OK"

    def __enter__(self) -> SmtpInbox:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        loop = self._controller.loop
        loop.call_soon_threadsafe(self._release.set)
        self._controller.stop()
