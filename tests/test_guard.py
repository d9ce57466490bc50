"""The guard's parts without a server: the sliding window of failed logins and Basic credentials."""

from __future__ import annotations

import base64

from reform_search.guard import MAX_CLIENTS, LoginThrottle, basic_credentials


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_waits_after_five_failures_until_the_oldest_leaves_the_window() -> None:
    clock = Clock()
    t = LoginThrottle(max_failures=5, window_s=60, clock=clock)
    for _ in range(4):
        t.failed("10.0.0.1")
        clock.now += 1
    assert t.wait("10.0.0.1") == 0
    t.failed("10.0.0.1")
    assert t.wait("10.0.0.1") == 60 - 4  # the first failure leaves the window 56 s from now
    assert t.wait("10.0.0.2") == 0  # other clients are not held up
    clock.now += 56
    assert t.wait("10.0.0.1") == 0
    t.failed("10.0.0.1")
    assert t.wait("10.0.0.1") > 0  # four recent failures and this one: five within the window again
    t.succeeded("10.0.0.1")
    assert t.wait("10.0.0.1") == 0


def test_memory_of_failures_is_bounded() -> None:
    t = LoginThrottle(max_failures=1, window_s=60, clock=Clock())
    for n in range(MAX_CLIENTS + 10):
        t.failed(f"client-{n}")
    assert len(t._failures) == MAX_CLIENTS
    assert t.wait("client-0") == 0 and t.wait(f"client-{MAX_CLIENTS + 9}") > 0  # the oldest forgotten


def test_basic_credentials() -> None:
    def header(raw: bytes) -> str:
        return "Basic " + base64.b64encode(raw).decode()

    assert basic_credentials(header(b"planner:pa:ss")) == ("planner", "pa:ss")
    assert basic_credentials(header("職員:パス".encode())) == ("職員", "パス")
    for bad in (header(b"no-colon"), "Bearer abc", "Basic ***", header(b"\xff\xfe:x"), ""):
        assert basic_credentials(bad) is None


def test_wrong_mcp_credentials_are_throttled_like_failed_logins() -> None:
    # The MCP route had given unlimited guesses while the login form made a guesser wait
    import asyncio

    from reform_search.guard import Guard

    passed = []

    async def app(scope, receive, send) -> None:
        passed.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    clock = Clock()
    guard = Guard(app, ("planner", "s3cret"), LoginThrottle(max_failures=5, window_s=60, clock=clock))

    def status(raw: bytes | None, client: str = "10.0.0.1") -> int:
        headers = [(b"authorization", b"Basic " + base64.b64encode(raw))] if raw is not None else []
        scope = {"type": "http", "path": "/gradio_api/mcp/", "headers": headers, "client": (client, 1)}
        sent = []

        async def send(message) -> None:
            sent.append(message)

        asyncio.run(guard(scope, None, send))
        return sent[0]["status"]

    assert [status(None) for _ in range(8)] == [401] * 8  # no password sent: nothing guessed
    assert status(b"planner:s3cret") == 200
    assert [status(f"planner:guess-{n}".encode()) for n in range(7)] == [401] * 5 + [429] * 2
    assert status(b"planner:s3cret") == 429  # even the right password waits
    assert status(b"planner:s3cret", client="10.0.0.2") == 200  # other clients are not held up
    clock.now += 61
    assert status(b"planner:s3cret") == 200 and passed == ["/gradio_api/mcp/"] * 3


def test_guesses_sent_at_once_are_throttled_as_if_sent_in_turn() -> None:
    # A login was counted as failed after its answer: 200 guesses sent at once had all passed the check
    import asyncio

    from reform_search.guard import LOGIN_PATHS, Guard

    reached = []

    async def app(scope, receive, send) -> None:  # a login form answering slowly, always wrongly
        reached.append(1)
        await asyncio.sleep(0.05)
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    guard = Guard(app, ("planner", "s3cret"), LoginThrottle(max_failures=5, window_s=60, clock=Clock()))
    path = sorted(LOGIN_PATHS)[0]

    async def attempt(client: str) -> int:
        sent = []

        async def send(message) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": path, "headers": [], "client": (client, 1)}
        await guard(scope, None, send)
        return sent[0]["status"]

    async def many() -> list[int]:
        return await asyncio.gather(*(attempt("10.0.0.1") for _ in range(50)))

    answers = asyncio.run(many())
    assert len(reached) == 5 and sorted(answers) == [400] * 5 + [429] * 45

    async def fails_inside(scope, receive, send) -> None:  # a server error is no answer on the password
        await send({"type": "http.response.start", "status": 500, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    guard = Guard(
        fails_inside, ("planner", "s3cret"), LoginThrottle(max_failures=2, window_s=60, clock=Clock())
    )
    assert [asyncio.run(attempt("10.0.0.3")) for _ in range(4)] == [500] * 4


def test_behind_a_reverse_proxy_on_this_machine_each_client_is_known_by_its_forwarded_address(
    monkeypatch,
) -> None:
    # Gradio serves through uvicorn, whose proxy-headers middleware (on by default, trusting 127.0.0.1
    # and ::1 unless FORWARDED_ALLOW_IPS says otherwise) sets the client from X-Forwarded-For before the
    # guard sees it: behind nginx on the same host, one guesser does not lock every user out
    import asyncio

    from uvicorn.config import Config
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    from reform_search.guard import LOGIN_PATHS, Guard

    async def app(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    guard = Guard(app, ("planner", "s3cret"), LoginThrottle(max_failures=2, window_s=60, clock=Clock()))
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    trusted = Config(app=app).forwarded_allow_ips  # what the server trusts when nothing is set
    served = ProxyHeadersMiddleware(guard, trusted_hosts=trusted)

    def status(forwarded: str, peer: str = "127.0.0.1") -> int:
        headers = [(b"x-forwarded-for", forwarded.encode())]
        scope = {"type": "http", "method": "POST", "path": sorted(LOGIN_PATHS)[0], "headers": headers}
        sent = []

        async def send(message) -> None:
            sent.append(message)

        asyncio.run(served({**scope, "client": (peer, 1), "scheme": "http"}, None, send))
        return sent[0]["status"]

    assert [status("203.0.113.5") for _ in range(3)] == [400, 400, 429]
    assert status("203.0.113.6") == 400  # another user behind the same proxy
    # a peer that is no trusted proxy cannot claim another address to escape its count
    assert [status(f"198.51.100.{n}", peer="192.0.2.9") for n in range(3)] == [400, 400, 429]


def _call(app, path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]] = ()) -> tuple[int, bytes]:
    """One request through an ASGI app: its status and body."""
    import asyncio

    queue = [
        {"type": "http.request", "body": c, "more_body": n < len(chunks) - 1} for n, c in enumerate(chunks)
    ]
    sent: list[dict] = []

    async def receive() -> dict:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "path": path, "method": "POST", "headers": list(headers)}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_a_request_body_is_bounded_and_a_read_only_server_takes_no_upload() -> None:
    # two API calls of 300 MB had raised the server to 2.7 GB; a read-only one had stored any upload
    from reform_search.bounds import Bounds

    async def reader(scope, receive, send) -> None:  # reads the whole body, as Gradio does
        body = b""
        while (message := await receive())["type"] == "http.request":
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(len(body)).encode()})

    app = Bounds(reader, max_body=1000)
    assert _call(app, "/gradio_api/call/search", [b"x" * 1000]) == (200, b"1000")
    assert _call(app, "/gradio_api/call/search", [b"x"], [(b"content-length", b"1001")])[0] == 413
    status, said = _call(app, "/gradio_api/call/search", [b"x" * 600, b"x" * 600])  # chunked, no length
    assert status == 413 and b"at most 1000 bytes" in said
    assert _call(app, "/gradio_api/upload", [b"x" * 5000]) == (200, b"5000")  # max_file_size holds those
    status, said = _call(Bounds(reader, read_only=True), "/gradio_api/upload", [b"x"])
    assert status == 403 and b"read-only" in said
