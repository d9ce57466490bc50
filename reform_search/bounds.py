"""A bound on what one HTTP request may send, as ASGI middleware in front of the web app.

Gradio reads a request's whole body into memory, whatever its size: two API calls of 300 MB each had
raised the server to 2.7 GB. Every body but an upload's is held to MAX_BODY (a query is cut at
max_query_chars and a theme list holds at most 200 themes, far below it); an upload is held by Gradio's
own `max_file_size`. A read-only server takes no uploads at all: none of its features reads one, and a
client could otherwise fill its disk.
"""

from __future__ import annotations

import json

from reform_search.guard import Receive, Scope, Send

MAX_BODY = 2 * 2**20  # bytes of one request's body, uploads aside
UPLOAD_PATH = "/gradio_api/upload"


class TooLarge(Exception):
    """A body sent in chunks past MAX_BODY."""


class Bounds:
    """ASGI middleware: 413 for a body over `max_body` (by its Content-Length, or as its chunks arrive),
    and 403 for an upload to a read-only server."""

    def __init__(self, app, max_body: int = MAX_BODY, read_only: bool = False) -> None:
        self.app = app
        self.max_body = max_body
        self.read_only = read_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        upload = scope.get("path", "").startswith(UPLOAD_PATH)
        if upload and self.read_only:
            return await _answer(send, 403, "this server is read-only: it takes no uploads")
        if upload:
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body:
            return await _answer(send, 413, f"a request's body may hold at most {self.max_body} bytes")
        if not declared.isdigit():  # sent in chunks: read (at most max_body) before the app sees it
            try:
                receive = await _buffered(receive, self.max_body)
            except TooLarge:
                return await _answer(send, 413, f"a request's body may hold at most {self.max_body} bytes")
        await self.app(scope, receive, send)


async def _buffered(receive: Receive, max_body: int) -> Receive:
    """The body's messages read whole, then a `receive` that replays them before waiting on the client
    again (for its disconnect). An over-long body raised inside the app's own reading had been caught
    there and answered 400 "error parsing the body"."""
    held: list[dict] = []
    received = 0
    while True:
        message = await receive()
        held.append(message)
        received += len(message.get("body", b""))
        if received > max_body:
            raise TooLarge
        if message["type"] != "http.request" or not message.get("more_body"):
            break

    async def replayed() -> dict:
        return held.pop(0) if held else await receive()

    return replayed


async def _answer(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
