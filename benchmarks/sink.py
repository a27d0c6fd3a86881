"""A counting SMTP sink for the benchmarks: aiosmtpd on 127.0.0.1 that accepts every message and discards it.

Run as its own process (`python benchmarks/sink.py PORT [pipelining]`) so that the server's CPU is not the
sender's; with `pipelining` it advertises PIPELINING (RFC 2920; aiosmtpd serves pipelined commands in order but
does not say so). It prints
"ready" once listening; then each line "count" on stdin is answered with the number of messages accepted so far,
and end of input stops it. `Sink` is the parent's handle on such a process.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path


class _Counter:
    def __init__(self) -> None:
        self.count = 0
        self.bytes = 0

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.count += 1
        self.bytes += len(envelope.original_content or envelope.content or b"")
        return "250 OK discarded"


class _PipeliningCounter(_Counter):
    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]


def serve(port: int, pipelining: bool = False) -> None:
    from aiosmtpd.controller import Controller

    handler = _PipeliningCounter() if pipelining else _Counter()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True, decode_data=False)
    controller.start()
    print("ready", flush=True)
    try:
        for line in sys.stdin:
            if line.strip() == "count":
                print(f"{handler.count} {handler.bytes}", flush=True)
    finally:
        controller.stop()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sink:
    """The sink process, started with `with Sink() as sink:`; `sink.count()` asks how many it has accepted."""

    def __init__(self, pipelining: bool = False) -> None:
        self.port = free_port()
        self.pipelining = pipelining
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Sink:
        self.process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), str(self.port),
                                         *(["pipelining"] if self.pipelining else [])],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            self.__exit__()
            raise RuntimeError(f"the benchmark sink did not start (said {line!r})")
        self._wait_listening()
        return self

    def _wait_listening(self) -> None:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the benchmark sink is not listening on 127.0.0.1:{self.port}")

    def count(self) -> int:
        assert self.process is not None and self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("count\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline().split()[0])

    def env(self) -> dict[str, str]:
        return {"OUTREACH_SMTP_HOST": "127.0.0.1", "OUTREACH_SMTP_PORT": str(self.port),
                "OUTREACH_SMTP_SECURITY": "none"}

    def __exit__(self, *exc: object) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        try:
            if process.stdin:
                process.stdin.close()
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()  # our own child, by its handle
            process.wait()


if __name__ == "__main__":
    serve(int(sys.argv[1]), pipelining=sys.argv[2:] == ["pipelining"])
