"""The web UI's named endpoints over HTTP with gradio_client: the same JSON as the CLI's --json."""

from __future__ import annotations

import html
import os
import re
import socket

os.environ["HF_HUB_OFFLINE"] = "1"  # gradio_client goes through huggingface_hub, which reads it at import

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

import ui
from reform_search.settings import Settings
from search.compare import compare
from search.counterparts import similar
from search.themes import theme_matrix


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(settings: Settings, searcher):
    """Launch the app in this process on a free port; returns (app, url)."""
    settings = settings.override(port=free_port())
    app = ui.build_app(settings, searcher)
    ui.launch(app, settings, prevent_thread_lock=True, quiet=True)
    return app, f"http://127.0.0.1:{settings.port}/"


@pytest.fixture(scope="module")
def fixture_app(shared_index, searcher):
    settings = Settings().override(
        index_dir=shared_index.index_dir, cache_dir=shared_index.cache_dir, corpus=shared_index.corpus
    )
    app, url = start(settings, searcher)
    yield Client(url, verbose=False)
    app.close()


def test_the_four_endpoints_are_documented(fixture_app):
    info = fixture_app.view_api(print_info=False, return_format="dict")
    assert set(info["named_endpoints"]) == {"/search", "/compare", "/similar", "/themes"}
    params = [p["parameter_name"] for p in info["named_endpoints"]["/compare"]["parameters"]]
    assert params == ["query", "cities", "top_k", "mode"]


def test_compare_returns_the_cli_json(fixture_app, searcher):
    got = fixture_app.predict("電子決裁", api_name="/compare")
    assert got == compare(searcher, "電子決裁", None, 3).to_dict()
    assert [c["city"] for c in got["columns"]] == ["テスト市", "サンプル町"]
    column = got["columns"][0]
    assert set(column) == {"city", "match", "matching", "evidence", "hits"}
    assert column["match"] in ("strong", "weak", "none")
    hit = column["hits"][0]
    for key in ("id", "rank", "score", "city", "document", "text", "section", "fiscal_year", "highlights"):
        assert key in hit


def test_compare_with_cities_and_top_k(fixture_app):
    got = fixture_app.predict("テレワーク", ["Samplecho"], 1, "lexical", api_name="/compare")
    assert [c["city"] for c in got["columns"]] == ["サンプル町"]
    assert len(got["columns"][0]["hits"]) == 1


def test_search_returns_query_and_hits(fixture_app, searcher):
    got = fixture_app.predict("テレワーク", 3, "hybrid", ["テスト市"], api_name="/search")
    assert got["query"] == "テレワーク"
    assert len(got["hits"]) == 3 and {h["city"] for h in got["hits"]} == {"テスト市"}
    hits = searcher.search("テレワーク", 3, "hybrid", searcher.mask(["テスト市"]))
    assert got["hits"] == [h.to_dict() for h in hits]
    assert [h["rank"] for h in got["hits"]] == [1, 2, 3]
    filtered = fixture_app.predict(
        "テレワーク", 10, "hybrid", None, ["samplecho-memo"], [2023], api_name="/search"
    )
    assert filtered["hits"] and {h["city"] for h in filtered["hits"]} == {"サンプル町"}


def test_similar_returns_source_and_columns(fixture_app, searcher):
    pid = searcher.search("電子決裁", 1, "hybrid", searcher.mask(["テスト市"]))[0].passage.id
    got = fixture_app.predict(pid, api_name="/similar")
    assert got == similar(searcher, pid).to_dict()
    assert got["source"]["id"] == pid
    assert [c["city"] for c in got["columns"]] == ["サンプル町"]


def test_one_bare_name_is_a_list_of_one(fixture_app, searcher):
    # A script that passes a string where a list is expected had it read letter by letter
    got = fixture_app.predict("電子決裁", api_name="/themes")
    assert got == theme_matrix(searcher, ["電子決裁"]).to_dict()
    got = fixture_app.predict("テレワーク", 3, "hybrid", "Samplecho", api_name="/search")
    assert got["hits"] and {h["city"] for h in got["hits"]} == {"サンプル町"}
    got = fixture_app.predict("テレワーク", 10, "hybrid", None, None, "令和5年度", api_name="/search")
    assert got["hits"] and {h["fiscal_year"] for h in got["hits"]} == {2023}


def test_null_is_a_parameter_s_default(fixture_app, searcher):
    # plain HTTP sends every parameter in order, null for a default (README); null top_k had been refused
    got = fixture_app.predict("電子決裁", None, None, None, None, None, api_name="/search")
    assert got == searcher.results("電子決裁", 10, "hybrid").to_dict()
    got = fixture_app.predict("電子決裁", None, None, None, api_name="/compare")
    assert got == compare(searcher, "電子決裁", None, 3).to_dict()
    pid = got["columns"][0]["hits"][0]["id"]
    assert fixture_app.predict(pid, None, None, api_name="/similar") == similar(searcher, pid).to_dict()


def test_themes_returns_the_matrix(fixture_app, searcher):
    got = fixture_app.predict(["電子決裁", "ごみ有料化"], api_name="/themes")
    assert got == theme_matrix(searcher, ["電子決裁", "ごみ有料化"]).to_dict()
    assert got["themes"] == ["電子決裁", "ごみ有料化"] and got["cities"] == ["テスト市", "サンプル町"]
    assert len(got["cells"]) == 4
    assert set(got["cells"][0]) == {"theme", "city", "match", "matching", "best"}


@pytest.mark.parametrize(
    ("args", "api_name", "message"),
    [
        (("  ",), "/compare", "query is empty"),
        (("電子決裁", ["大阪市"]), "/compare", "大阪市"),
        (("電子決裁", 3, "fuzzy"), "/search", "unknown mode"),
        (("no-such:passage",), "/similar", "unknown passage id"),
        (("電子決裁", ["<b>A&B</b>"]), "/compare", "unknown city '<b>A&B</b>'"),
        ((123,), "/compare", "query must be text"),
        (("電子決裁", None, 0), "/compare", "top_k must be a whole number from 1 to 10, got 0"),
        (("電子決裁", None, 100_000), "/compare", "from 1 to 10, got 100000"),
        (("電子決裁", 2.5), "/search", "from 1 to 100, got 2.5"),
        (("電子決裁", "abc"), "/search", "got 'abc'"),
        (("電子決裁", 3, "hybrid", None, None, ["いつか"]), "/search", "fiscal year 'いつか' not understood"),
        (("電子決裁", ["テスト市"], 11), "/similar", "from 1 to 10"),
    ],
)
def test_errors_come_back_as_one_line(fixture_app, args, api_name, message):
    # as plain text, unescaped: scripts and AI assistants read it (the browser's messages are escaped)
    with pytest.raises(AppError, match=message) as refused:
        fixture_app.predict(*args, api_name=api_name)
    assert "\n" not in str(refused.value).strip()


@pytest.mark.model
def test_compare_over_the_real_corpus(real_index, real_searcher):
    app, url = start(real_index.settings(), real_searcher)
    try:
        got = Client(url, verbose=False).predict("DX推進", api_name="/compare")
    finally:
        app.close()
    columns = {c["city"]: c for c in got["columns"]}
    assert set(columns) == {"会津若松市", "いわき市"}
    for column in columns.values():
        assert column["match"] != "none" and column["hits"]


def test_the_api_runs_at_most_concurrency_calls_at_a_time():
    # Off Gradio's queue (for MCP behind auth), the endpoints keep its bound of `concurrency` at a time
    import threading
    import time

    from reform_search.web.checks import gated

    running, most, lock = [0], [0], threading.Lock()

    def call() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2)  # long enough that the others are waiting at the gate meanwhile
        with lock:
            running[0] -= 1

    bounded = gated(call, threading.BoundedSemaphore(2))
    threads = [threading.Thread(target=bounded) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 2


def test_the_server_bounds_a_request_s_body_and_takes_no_upload_when_read_only(shared_index, searcher):
    import httpx

    from reform_search.bounds import MAX_BODY

    settings = Settings().override(
        index_dir=shared_index.index_dir, cache_dir=shared_index.cache_dir, corpus=shared_index.corpus
    )
    app, url = start(settings.override(read_only="on"), searcher)
    try:
        big = {"data": ["x" * (MAX_BODY + 1), 3, "hybrid", None, None, None]}
        refused = httpx.post(f"{url}gradio_api/call/search", json=big, timeout=30)
        assert refused.status_code == 413 and "at most" in refused.json()["detail"]

        def chunks(n: int):  # sent without a length (chunked): FastAPI had answered 400
            yield b'{"data": ["'
            for _ in range(n):
                yield b"x" * 2**16
            yield b'", 3, "hybrid"]}'

        headers = {"content-type": "application/json"}
        post = f"{url}gradio_api/call/search"
        chunked = httpx.post(post, content=chunks(MAX_BODY // 2**16 + 1), headers=headers, timeout=30)
        assert chunked.status_code == 413 and "at most" in chunked.json()["detail"]
        assert httpx.post(post, content=chunks(1), headers=headers, timeout=30).status_code == 200
        upload = httpx.post(f"{url}gradio_api/upload", files={"files": ("a.txt", b"x")}, timeout=30)
        assert upload.status_code == 403 and "read-only" in upload.json()["detail"]
        small = httpx.post(
            f"{url}gradio_api/call/search", json={"data": ["電子決裁", 3, "hybrid"]}, timeout=30
        )
        assert small.status_code == 200  # an ordinary call goes through as before
    finally:
        app.close()


def test_a_plain_http_call_short_of_a_parameter_is_told_why(shared_index, searcher):
    import httpx

    settings = Settings().override(
        index_dir=shared_index.index_dir, cache_dir=shared_index.cache_dir, corpus=shared_index.corpus
    )
    app, url = start(settings, searcher)
    try:
        short = httpx.post(f"{url}gradio_api/run/compare", json={"data": ["電子決裁"]}, timeout=30)
        said = short.json().get("error")
        assert short.status_code >= 400 and said and "4" in said and "1" in said, said  # it had said null
        whole = httpx.post(
            f"{url}gradio_api/run/compare", json={"data": ["電子決裁", None, None, None]}, timeout=30
        )
        assert whole.status_code == 200 and whole.json()["data"][0]["query"] == "電子決裁"
    finally:
        app.close()


def test_the_page_is_served_japanese_with_its_own_title_before_any_script(shared_index, searcher):
    import httpx

    from reform_search.web.page import DESCRIPTION
    from reform_search.web.state import TITLE

    settings = Settings().override(
        index_dir=shared_index.index_dir, cache_dir=shared_index.cache_dir, corpus=shared_index.corpus
    )
    app, url = start(settings, searcher)
    try:
        page = httpx.get(url, timeout=30)
        served = page.text
        assert page.status_code == 200 and int(page.headers["content-length"]) == len(page.content)
        # Gradio's template said lang="en" and og:title / twitter:title "Gradio" ("Click to try out the app!")
        assert re.search(r'<html\s+lang="ja"', served) and 'lang="en"' not in served[:200]
        assert f"<title>{html.escape(TITLE)}</title>" in served
        tag = r'<meta\s+(?:property|name)="((?:og|twitter):\w+)"\s+content="([^"]*)"'
        social = dict(re.findall(tag, served))
        assert social["og:title"] == social["twitter:title"] == html.escape(TITLE)
        assert social["og:description"] == html.escape(DESCRIPTION) and social["og:locale"] == "ja_JP"
        assert "Gradio" not in served.split("<script")[0] and "Click to try" not in served
        assert served.count('property="og:title"') == 1  # Gradio's own tags gone, not doubled
        assert httpx.get(f"{url}gradio_api/info", timeout=30).json()  # other responses pass as they are
        # a HEAD had said the length of Gradio's page, not of the page a GET gets
        head = httpx.head(url, timeout=30)
        length = head.headers.get("content-length")
        assert head.status_code == 200 and length in (None, str(len(page.content)))
    finally:
        app.close()
