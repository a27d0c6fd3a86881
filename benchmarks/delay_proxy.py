"""A TCP proxy on 127.0.0.1 that adds a fixed delay each way: a relay tens of milliseconds away, on one machine.

Each direction of each connection is a delay line: a chunk read at time t is written at t + delay, in order, so
the delay is not multiplied by the number of chunks in flight (pipelined commands keep their advantage). It also
keeps what tests look at: the chunks the client wrote (`client_chunks`), to see which commands travelled
together. Used by benchmarks/bench_latency.py and by tests/test_send_pipelining.py.
"""

from __future__ import annotations

import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path


class DelayProxy:
    """`with DelayProxy(target_port, delay=0.02) as proxy:` then connect to 127.0.0.1:proxy.port."""

    def __init__(self, target_port: int, delay: float = 0.02, target_host: str = "127.0.0.1",
                 keep_chunks: bool = False) -> None:
        self.target = (target_host, target_port)
        self.delay = delay
        self.keep_chunks = keep_chunks
        self.client_chunks: list[bytes] = []
        self.connections = 0
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def __enter__(self) -> DelayProxy:
        threading.Thread(target=self._accept, name="delay-proxy", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed.set()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.close()
                except OSError:
                    pass

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
                server = socket.create_connection(self.target)
            except OSError:
                return
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sockets += [client, server]
                self.connections += 1
            self._line(client, server, keep=self.keep_chunks)
            self._line(server, client, keep=False)

    def _line(self, source: socket.socket, sink: socket.socket, keep: bool) -> None:
        """One direction: a reader stamps each chunk, a writer sends it once its delay has passed."""
        line: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()

        def read() -> None:
            while True:
                try:
                    chunk = source.recv(65536)
                except OSError:
                    chunk = b""
                line.put((time.monotonic() + self.delay, chunk))
                if not chunk:
                    return
                if keep:
                    with self._lock:
                        self.client_chunks.append(chunk)

        def write() -> None:
            while True:
                due, chunk = line.get()
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                try:
                    if not chunk:
                        sink.shutdown(socket.SHUT_WR)
                        return
                    sink.sendall(chunk)
                except OSError:
                    return

        threading.Thread(target=read, daemon=True).start()
        threading.Thread(target=write, daemon=True).start()


class ProxyProcess:
    """A DelayProxy in a process of its own (`python benchmarks/delay_proxy.py TARGET_PORT DELAY`), so that its
    timers do not compete with the measured sender for the interpreter lock."""

    def __init__(self, target_port: int, delay: float) -> None:
        self.target_port, self.delay = target_port, delay
        self.port = 0
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> ProxyProcess:
        self.process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), str(self.target_port),
                                         str(self.delay)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        return self

    def env(self) -> dict[str, str]:
        return {"OUTREACH_SMTP_HOST": "127.0.0.1", "OUTREACH_SMTP_PORT": str(self.port),
                "OUTREACH_SMTP_SECURITY": "none"}

    def __exit__(self, *exc: object) -> None:
        process, self.process = self.process, None
        if process is not None:
            assert process.stdin is not None
            process.stdin.close()  # end of input stops it
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()  # our own child, by its handle
                process.wait()


if __name__ == "__main__":
    with DelayProxy(int(sys.argv[1]), float(sys.argv[2])) as proxy:
        print(proxy.port, flush=True)
        sys.stdin.read()
