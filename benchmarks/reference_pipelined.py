"""The fully pipelined floor for the latency case: a minimal hand-written RFC 2920 client with no queue, no
database and no error handling — the next message's envelope rides with the previous message's final dot, so a
message costs one round trip. What any pipelining sender can at best do over the same connection."""

from __future__ import annotations

import re
import socket
from typing import BinaryIO

FROM = "news@bsi.example.org"


def _reply(stream: BinaryIO) -> int:
    code = 0
    while True:
        line = stream.readline()
        if not line:
            raise ConnectionError("the server closed the connection")
        code = int(line[:3])
        if line[3:4] != b"-":
            return code


def _envelope(to: str) -> bytes:
    return f"MAIL FROM:<{FROM}>\r\nRCPT TO:<{to}>\r\nDATA\r\n".encode("ascii")


def send_all(port: int, messages: list[tuple[str, bytes]]) -> None:
    """Send the pre-built (recipient, bytes) messages over one connection to 127.0.0.1:port, fully pipelined."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stream = sock.makefile("rb")
        _reply(stream)
        sock.sendall(b"EHLO bench.example.org\r\n")
        _reply(stream)
        out = _envelope(messages[0][0])
        for index, (_, data) in enumerate(messages):
            sock.sendall(out)
            replies = [_reply(stream) for _ in range(4 if index else 3)]  # (previous dot,) MAIL, RCPT, DATA
            if replies[-3:] != [250, 250, 354] or (index and replies[0] != 250):
                raise RuntimeError(f"the sink answered {replies}")
            payload = re.sub(rb"(?m)^\.", b"..", data)
            sock.sendall(payload if payload.endswith(b"\r\n") else payload + b"\r\n")
            following = messages[index + 1][0] if index + 1 < len(messages) else None
            out = b".\r\n" + (_envelope(following) if following else b"")
        sock.sendall(out + b"QUIT\r\n")
        if _reply(stream) != 250:
            raise RuntimeError("the last message was not accepted")
