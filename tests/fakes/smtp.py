"""A loopback SMTP server that accepts mail and keeps it (enough of RFC 5321 for smtplib)."""
from __future__ import annotations

import socketserver
import threading
from email import message_from_bytes
from email.message import Message
from typing import Any, Self


class FakeSmtp:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 fake ESMTP\r\n")
                while line := self.rfile.readline():
                    command = line.strip().upper()
                    if command.startswith((b"EHLO", b"HELO")):
                        self.wfile.write(b"250 fake\r\n")
                    elif command == b"DATA":
                        self.wfile.write(b"354 go ahead\r\n")
                        data = b"".join(iter(self.rfile.readline, b".\r\n"))
                        owner.messages.append(message_from_bytes(data))
                        self.wfile.write(b"250 queued\r\n")
                    elif command == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:  # MAIL FROM, RCPT TO, RSET, NOOP
                        self.wfile.write(b"250 ok\r\n")

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Self:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
