"""The read-only tools over MCP, called by a real MCP client (the `mcp` Python SDK) on loopback."""

from __future__ import annotations

import ast
import asyncio
import json
import socket

import pytest

import ui
from reform_search.settings import Settings
from search.compare import compare

mcp = pytest.importorskip("mcp", reason="the mcp SDK comes with the ui extra (gradio[mcp])")
from mcp.client.streamable_http import streamablehttp_client  # noqa: E402

TOOLS = {"search", "compare", "similar", "themes"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serving(shared_index, searcher, **overrides):
    """The app over the fixture index on a free port: (its base URL, the app to close)."""
    settings = Settings().override(
        index_dir=shared_index.index_dir,
        cache_dir=shared_index.cache_dir,
        corpus=shared_index.corpus,
        port=free_port(),
        **overrides,
    )
    app = ui.build_app(settings, searcher)
    ui.launch(app, settings, prevent_thread_lock=True, quiet=True)
    return f"http://127.0.0.1:{settings.port}", app


@pytest.fixture(scope="module")
def mcp_url(shared_index, searcher):
    url, app = _serving(shared_index, searcher)
    yield f"{url}/gradio_api/mcp/"
    app.close()


async def _session(url: str, work):
    async with streamablehttp_client(url) as (read, write, _), mcp.ClientSession(read, write) as session:
        await session.initialize()
        return await work(session)


def _tool_names(tools) -> dict[str, object]:
    # Gradio may prefix a tool with the app's name; the endpoint's name ends it.
    return {next(t for t in TOOLS if tool.name.endswith(t)): tool for tool in tools}


def test_tools_list_has_the_read_only_tools_with_their_docs(mcp_url):
    tools = asyncio.run(_session(mcp_url, lambda s: s.list_tools())).tools
    named = _tool_names([t for t in tools if any(t.name.endswith(n) for n in TOOLS)])
    assert set(named) == TOOLS
    assert not any(word in t.name for t in tools for word in ("add", "remove", "upload"))
    compare_tool = named["compare"]
    assert "該当なし" in compare_tool.description
    assert {"query", "cities", "top_k", "mode"} <= set(compare_tool.inputSchema["properties"])
    # years as a script may write them: 2024, 令和6年度 or R6 (the schema had said integers only)
    years = json.dumps(named["search"].inputSchema["properties"]["years"], ensure_ascii=False)
    assert '"string"' in years and '"integer"' in years and "令和6年度" in years


def test_tools_call_compare_returns_both_cities(mcp_url, searcher):
    async def work(session):
        tools = _tool_names([t for t in (await session.list_tools()).tools if t.name.endswith(tuple(TOOLS))])
        return await session.call_tool(tools["compare"].name, {"query": "電子決裁"})

    result = asyncio.run(_session(mcp_url, work))
    assert not result.isError
    text = "".join(getattr(part, "text", "") for part in result.content)
    got = ast.literal_eval(text)  # Gradio writes the tool's dict as a Python literal
    assert [c["city"] for c in got["columns"]] == ["テスト市", "サンプル町"]
    assert got == json.loads(json.dumps(compare(searcher, "電子決裁", None, 3).to_dict()))


def test_mcp_is_served_unless_off():
    assert ui.launch_options(Settings().override(auth="user:pw"))["mcp_server"] is True  # guarded
    assert ui.launch_options(Settings().override(mcp="off"))["mcp_server"] is False
    assert ui.launch_options(Settings())["mcp_server"] is True


@pytest.fixture(scope="module")
def guarded(shared_index, searcher):
    """The app with auth set: MCP must carry the same credentials as HTTP Basic auth."""
    url, app = _serving(shared_index, searcher, auth="planner:s3cret-fixture")
    yield url
    app.close()


def _basic(user: str, password: str) -> dict[str, str]:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_mcp_behind_auth_needs_the_same_credentials(guarded, searcher):
    import httpx

    url = f"{guarded}/gradio_api/mcp/"

    async def names(headers):
        async with (
            streamablehttp_client(url, headers=headers) as (read, write, _),
            mcp.ClientSession(read, write) as session,
        ):
            await session.initialize()
            return {t.name for t in (await session.list_tools()).tools}

    assert {n for n in asyncio.run(names(_basic("planner", "s3cret-fixture"))) if n.endswith(tuple(TOOLS))}

    async def called(headers):  # a tool is called too, not only listed (it had failed behind auth)
        async with (
            streamablehttp_client(url, headers=headers) as (read, write, _),
            mcp.ClientSession(read, write) as session,
        ):
            await session.initialize()
            name = next(t.name for t in (await session.list_tools()).tools if t.name.endswith("compare"))
            return await session.call_tool(name, {"query": "電子決裁", "top_k": 1})

    result = asyncio.run(called(_basic("planner", "s3cret-fixture")))
    assert not result.isError, result.content
    got = ast.literal_eval("".join(getattr(part, "text", "") for part in result.content))
    assert got == json.loads(json.dumps(compare(searcher, "電子決裁", None, 1).to_dict()))
    for headers in (
        {},
        _basic("planner", "wrong"),
        _basic("someone", "s3cret-fixture"),
        {"Authorization": "Basic !!"},
    ):
        answer = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers=headers)
        assert answer.status_code == 401 and "Basic" in answer.headers["www-authenticate"]
    assert httpx.get(f"{guarded}/gradio_api/mcp/sse", timeout=5).status_code == 401


def test_repeated_failed_logins_are_made_to_wait(guarded):
    import httpx

    def login(password: str) -> httpx.Response:
        return httpx.post(f"{guarded}/login", data={"username": "planner", "password": password})

    assert login("s3cret-fixture").status_code == 200
    answers = [login(f"guess-{n}").status_code for n in range(8)]
    assert answers[:5] == [400] * 5 and answers[5:] == [429] * 3
    waited = login("s3cret-fixture")  # even the right password waits: guessing must not learn it
    assert waited.status_code == 429 and int(waited.headers["retry-after"]) > 0


def test_plain_http_behind_auth_logs_in_once_and_sends_the_cookie(shared_index, searcher):
    # as the README shows it: Basic authentication is MCP's; the HTTP API reads Gradio's login cookie
    # (a server of its own: the other tests' wrong passwords count against this address)
    import httpx

    url, app = _serving(shared_index, searcher, auth="planner:s3cret-fixture")
    try:
        body = {"data": ["電子決裁", None, None, None]}
        assert httpx.post(f"{url}/gradio_api/run/compare", json=body, timeout=30).status_code == 401
        with httpx.Client(base_url=url, timeout=30) as client:
            login = client.post("/login", data={"username": "planner", "password": "s3cret-fixture"})
            assert login.status_code < 400
            answer = client.post("/gradio_api/run/compare", json=body)
            assert answer.status_code == 200 and answer.json()["data"][0]["query"] == "電子決裁"
    finally:
        app.close()


def test_a_list_parameter_takes_one_bare_name_or_names_with_commas(mcp_url, searcher):
    # the README says a list parameter takes one bare name: the tools' schema had refused it
    async def work(session):
        tools = _tool_names([t for t in (await session.list_tools()).tools if t.name.endswith(tuple(TOOLS))])
        schema = json.dumps(tools["compare"].inputSchema["properties"]["cities"])
        one = await session.call_tool(tools["compare"].name, {"query": "電子決裁", "cities": "サンプル町"})
        two = await session.call_tool(
            tools["compare"].name, {"query": "電子決裁", "cities": "サンプル町、テスト市"}
        )
        return schema, one, two

    schema, one, two = asyncio.run(_session(mcp_url, work))
    assert '"string"' in schema and '"array"' in schema
    for result, cities in ((one, ["サンプル町"]), (two, ["サンプル町", "テスト市"])):
        assert not result.isError, result.content
        got = ast.literal_eval("".join(getattr(part, "text", "") for part in result.content))
        assert [c["city"] for c in got["columns"]] == cities
