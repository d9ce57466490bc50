"""Two guards in front of the web app, as ASGI middleware: MCP calls need the UI's credentials, and a
client that keeps failing to log in is made to wait.

Gradio's login (a form, then a cookie) protects the page and its API, but not its MCP route, which
an AI assistant calls without a browser. With `auth` set, every request under MCP_PATH must carry the
same user and password as HTTP Basic authentication (`Authorization: Basic base64(user:password)`,
a header every MCP client can send), or it is answered 401 before Gradio sees it.

Gradio answers every login attempt at once, so a password can be guessed at hundreds of tries a
second. After MAX_FAILURES failed logins within WINDOW_S seconds — at the login form or as the wrong
Basic credentials of an MCP request — a client (by address) is answered 429 with Retry-After until its
oldest failure leaves the window; a success clears its count.
"""

from __future__ import annotations

import base64
import hmac
import json
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable

MCP_PATH = "/gradio_api/mcp"
LOGIN_PATHS = ("/login", "/login/")
MAX_FAILURES = 5  # failed logins per client within WINDOW_S before it must wait
WINDOW_S = 60.0
MAX_CLIENTS = 10_000  # clients whose failures are remembered; the oldest are forgotten first

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


class LoginThrottle:
    """Failed logins per client over a sliding window."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def wait(self, client: str) -> float:
        """Seconds the client must wait before its next try (0: it may try now)."""
        times = self._failures.get(client)
        if not times:
            return 0.0
        now = self.clock()
        while times and now - times[0] >= self.window_s:
            times.popleft()
        if len(times) < self.max_failures:
            return 0.0
        return self.window_s - (now - times[0])

    def failed(self, client: str) -> None:
        times = self._failures.pop(client, None) or deque(maxlen=self.max_failures)
        times.append(self.clock())
        self._failures[client] = times  # most recent last
        while len(self._failures) > MAX_CLIENTS:
            self._failures.popitem(last=False)

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)

    def forgiven(self, client: str) -> None:
        """Take back the latest failure counted (a try counted before its answer that was no failure)."""
        times = self._failures.get(client)
        if times:
            times.pop()


def basic_credentials(header: str) -> tuple[str, str] | None:
    """(user, password) of an `Authorization: Basic …` header, or None."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


class Guard:
    """ASGI middleware: Basic authentication on MCP_PATH and login throttling, when credentials are set."""

    def __init__(
        self, app, credentials: tuple[str, str] | None, throttle: LoginThrottle | None = None
    ) -> None:
        self.app = app
        self.credentials = credentials
        self.throttle = throttle or LoginThrottle()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.credentials is None:
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        if path.startswith(MCP_PATH):
            return await self._mcp(scope, receive, send)
        if path in LOGIN_PATHS and scope.get("method") == "POST":
            return await self._login(scope, receive, send)
        return await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        given = basic_credentials(_header(scope))
        if given is None:
            return False
        user_ok = hmac.compare_digest(given[0].encode(), self.credentials[0].encode())
        return hmac.compare_digest(given[1].encode(), self.credentials[1].encode()) and user_ok

    async def _mcp(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An MCP request: with the credentials it is passed on; without, 401, and a client that keeps
        sending wrong ones waits as at the login form (its passwords are guesses all the same)."""
        client = _client(scope)
        if wait := self.throttle.wait(client):
            return await _too_many(send, wait)
        if not self._authorized(scope):
            if basic_credentials(_header(scope)) is not None:  # a password tried, not a first request
                self.throttle.failed(client)
            return await _answer(
                send,
                401,
                "MCP needs the server's user and password as HTTP Basic auth (Authorization header)",
                [(b"www-authenticate", b'Basic realm="reform-search"')],
            )
        self.throttle.succeeded(client)
        return await self.app(scope, receive, send)

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = _client(scope)
        if wait := self.throttle.wait(client):
            return await _too_many(send, wait)
        status = []

        async def watched(message: dict) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        # counted as a failure before it is answered: counted after, any number of guesses sent at once
        # had all passed the check above
        self.throttle.failed(client)
        try:
            await self.app(scope, receive, watched)
        finally:
            if status and status[0] == 200:
                self.throttle.succeeded(client)
            elif not (status and 400 <= status[0] < 500):
                self.throttle.forgiven(client)  # no answer on the password (a server error)


def _client(scope: Scope) -> str:
    return (scope.get("client") or ("unknown",))[0]


def _header(scope: Scope) -> str:
    return dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")


async def _too_many(send: Send, wait: float) -> None:
    seconds = str(max(1, round(wait)))
    await _answer(
        send, 429, f"too many failed logins; try again in {seconds} s", [(b"retry-after", seconds.encode())]
    )


async def _answer(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
