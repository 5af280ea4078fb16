"""A minimal HTTP/1.1 client connection for the light load driver: one keep-alive socket, a request written in
one send, the answer read by Content-Length or chunks.

Why not http.client: over keep-alive on this machine, http.client spends about 250 µs of CPU per exchange
(most of it parsing headers through the email package), this about 60 µs, and a journey is 15 exchanges.
It speaks plain HTTP to the federation's own services on loopback and nothing else: no TLS, no proxies,
no compression (the driver asks for none), no pipelining.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass

RECV_BYTES = 65536
# The headers this client and the driver read (framing, redirects, cookies); the others are skipped unparsed.
_HEADER = re.compile(
    rb"^(set-cookie|location|content-length|transfer-encoding|connection)[ \t]*:[ \t]*(.*?)[ \t]*\r?$", re.I | re.M
)
NO_BODY = frozenset((204, 304))


class ProtocolError(RuntimeError):
    """The server's answer is not HTTP/1.1 as this client reads it."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[str, str]]  # (lower-case name, value) of the headers in _HEADER, in the order received
    body: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]


class Connection:
    """A keep-alive connection to one origin; opened on first use and again if the server closed it."""

    def __init__(self, host: str, port: int, *, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.host_header = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
        self._sock: socket.socket | None = None
        self._buffer = b""

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._buffer = b""

    def exchange(self, method: str, target: str, headers: str, body: bytes | None = None) -> Response:
        """Send one request and read its whole answer. `headers` are extra header lines, each ending in CRLF.

        A connection that was kept alive may have been closed by the server in the meantime: if nothing of
        the answer arrived, the request is sent once more on a new connection (as browsers do)."""
        folded = headers.replace("\r\n", "")
        if any(c in target for c in " \r\n") or "\r" in folded or "\n" in folded:
            raise ValueError(f"refusing to send a malformed request line or header: {target!r}")
        length = f"Content-Length: {len(body)}\r\n" if body is not None else ""
        request = f"{method} {target} HTTP/1.1\r\nHost: {self.host_header}\r\n{headers}{length}\r\n".encode("latin-1")
        if body:
            request += body
        reused = self._sock is not None
        try:
            if not reused:
                self._open()
            try:
                self._sock.sendall(request)  # type: ignore[union-attr]
                head = self._read_head(may_be_stale=reused)
            except (ConnectionResetError, BrokenPipeError, _ClosedEarly):
                if not reused:
                    raise
                self.close()
                self._open()
                self._sock.sendall(request)  # type: ignore[union-attr]
                head = self._read_head(may_be_stale=False)
            return self._read_rest(method, head)
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def _recv(self) -> bytes:
        data = self._sock.recv(RECV_BYTES)  # type: ignore[union-attr]
        if not data:
            raise ProtocolError(f"{self.host_header} closed the connection in the middle of an answer")
        return data

    def _read_head(self, *, may_be_stale: bool) -> bytes:
        """Up to the blank line after the headers. A kept-alive connection closed before any byte of the answer
        raises _ClosedEarly (send again); any other early close is an error."""
        while (end := self._buffer.find(b"\r\n\r\n")) < 0:
            data = self._sock.recv(RECV_BYTES)  # type: ignore[union-attr]
            if not data:
                if not self._buffer and may_be_stale:
                    raise _ClosedEarly
                where = "in the middle of the headers" if self._buffer else "without answering"
                raise ProtocolError(f"{self.host_header} closed the connection {where}")
            self._buffer += data
        head, self._buffer = self._buffer[:end], self._buffer[end + 4 :]
        return head

    def _read_rest(self, method: str, head: bytes) -> Response:
        status_line, _, _ = head.partition(b"\r\n")
        version, _, rest = status_line.partition(b" ")
        if not version.startswith(b"HTTP/1.") or not rest[:3].isdigit():
            raise ProtocolError(f"{self.host_header} answered {status_line[:80]!r}")
        status = int(rest[:3])
        headers = [(name.lower().decode("latin-1"), value.decode("latin-1")) for name, value in _HEADER.findall(head)]
        response_headers = dict(headers)
        if 100 <= status < 200:  # an interim answer (none is asked for): the real one follows
            return self._read_rest(method, self._read_head(may_be_stale=False))
        if method == "HEAD" or status in NO_BODY:
            body = b""
        elif "chunked" in response_headers.get("transfer-encoding", "").lower():
            body = self._read_chunked()
        elif (length := response_headers.get("content-length")) is not None:
            body = self._read_exactly(int(length))
        else:  # the body runs to the end of the connection
            body = self._read_to_close()
        close = response_headers.get("connection", "").lower()
        if close == "close" or (version == b"HTTP/1.0" and close != "keep-alive"):
            self.close()
        return Response(status, headers, body)

    def _read_exactly(self, length: int) -> bytes:
        while len(self._buffer) < length:
            self._buffer += self._recv()
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return body

    def _read_line(self) -> bytes:
        while (end := self._buffer.find(b"\r\n")) < 0:
            self._buffer += self._recv()
        line, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
        return line

    def _read_chunked(self) -> bytes:
        chunks = []
        while size := int(self._read_line().split(b";", 1)[0], 16):
            chunks.append(self._read_exactly(size))
            self._read_exactly(2)  # the CRLF after each chunk
        while self._read_line():  # trailers, up to the blank line
            pass
        return b"".join(chunks)

    def _read_to_close(self) -> bytes:
        chunks = [self._buffer]
        while data := self._sock.recv(RECV_BYTES):  # type: ignore[union-attr]
            chunks.append(data)
        self.close()
        return b"".join(chunks)


class _ClosedEarly(Exception):
    """The server closed a kept-alive connection before any byte of the answer."""
