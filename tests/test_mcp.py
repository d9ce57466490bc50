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


@pytest.fixture(scope="module")
def mcp_url(shared_index, searcher):
    settings = Settings().override(
        index_dir=shared_index.index_dir,
        cache_dir=shared_index.cache_dir,
        corpus=shared_index.corpus,
        port=free_port(),
    )
    app = ui.build_app(settings, searcher)
    ui.launch(app, settings, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{settings.port}/gradio_api/mcp/"
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


def test_no_mcp_server_behind_auth_or_when_off():
    # Gradio's MCP endpoint would answer without the UI's login: with auth set it is not served.
    assert ui.launch_options(Settings().override(auth="user:pw"))["mcp_server"] is False
    assert ui.launch_options(Settings().override(mcp="off"))["mcp_server"] is False
    assert ui.launch_options(Settings())["mcp_server"] is True
