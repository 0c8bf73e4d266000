"""A real SMTP server (aiosmtpd) on a free port of 127.0.0.1, for the tests that send mail."""
from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class Mailbox:
    """The SMTP server's handler: keeps every message it accepts, refuses the addresses in `refused`."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in m["To"]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MailServer:
    """A real SMTP server on a port of its own, which a test may stop and start again."""

    def __init__(self) -> None:
        self.port, self.mailbox, self.controller = free_port(), Mailbox(), None

    def start(self) -> Mailbox:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self.mailbox

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
