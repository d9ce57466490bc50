"""End to end in Debian's Chromium: `reform-search serve` over the real corpus with the real model.

Screenshots go to artifacts/ (gitignored); the 1280×800 Compare view is also copied to
docs/screenshot-compare.png for the README. Without /usr/bin/chromium the tests are skipped, unless
REFORM_SEARCH_REQUIRE_BROWSER=1 makes that a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import build_html_index
from fakes import FakeEmbedder

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CLI = str(Path(sys.executable).parent / "reform-search")
WIDE, NARROW = {"width": 1280, "height": 800}, {"width": 420, "height": 900}
QUERY = "DX推進"
CITIES = ("会津若松市", "いわき市")
# A result has arrived when its element holds it and Gradio no longer marks the component pending.
ARRIVED = "(sel) => { const e = document.querySelector(sel); return e && !e.querySelector('.pending') }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen | None = None, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}:\n{proc.stderr.read()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("REFORM_SEARCH_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and REFORM_SEARCH_REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium fonts-ipafont-gothic)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            # No lookups of outside hosts; the app must work with nothing but 127.0.0.1.
            args=["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--no-sandbox"],
        )
        yield b
        b.close()


@pytest.fixture(scope="module")
def real_app(real_index, browser):
    """`reform-search serve` on a free port, as a user starts it, over the session's real index."""
    port = free_port()
    env = real_index.env() | {"REFORM_SEARCH_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen(
        [CLI, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_http(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(scope="module")
def html_app(tmp_path_factory, browser):
    """The app in this process over the fixture corpus whose items hold HTML (fake embedder)."""
    import ui
    from index.store import load_index
    from reform_search.settings import Settings
    from search.engine import Searcher

    built = build_html_index(tmp_path_factory.mktemp("html-app"))
    settings = Settings().override(
        index_dir=built.index_dir, cache_dir=built.cache_dir, corpus=built.corpus, port=free_port()
    )
    app = ui.build_app(settings, Searcher(load_index(built.index_dir), FakeEmbedder(32)))
    ui.launch(app, settings, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{settings.port}/"
    app.close()


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport=WIDE)
    page.dialogs = []  # any alert() would mean markup from a document ran (the UI itself opens none)

    def dialog(d):
        page.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    yield page
    page.close()


def shot(page, name: str, **kwargs) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(400)  # Gradio fades updated outputs in
    path = ARTIFACTS / name
    page.screenshot(path=str(path), **kwargs)
    return path


def opened(page, url: str) -> None:
    """The page at `url`, once it has opened: its pickers brought up to date with the index (a page opened
    just after a document was added had been asked before its cities included the new one, on a loaded
    machine) and its link read (window.rsLinked: link.py)."""
    page.goto(url)
    page.wait_for_function("window.rsLinked === true", timeout=60_000)


def run_compare(page, url: str, query: str) -> None:
    opened(page, url)
    page.locator("#compare-query textarea").fill(query)
    page.click("#compare-go")
    page.wait_for_function(
        "(n) => document.querySelectorAll('#compare-results .rs-col').length >= n", arg=2, timeout=60_000
    )
    page.wait_for_function(ARRIVED, arg="#compare-results")


def run_search(page, url: str, query: str) -> None:
    opened(page, url)
    page.click("#tab-search-button")
    page.locator("#search-query textarea").fill(query)
    page.click("#search-go")
    page.wait_for_function("document.querySelectorAll('#search-results .rs-card').length > 0", timeout=60_000)
    page.wait_for_function(ARRIVED, arg="#search-results")


def test_compare_shows_the_cities_side_by_side(page, real_app):
    run_compare(page, real_app, QUERY)
    columns = page.locator("#compare-results .rs-col")
    assert columns.count() == 2
    for i, city in enumerate(CITIES):
        col = columns.nth(i)
        assert col.locator(".rs-city").inner_text().startswith(city)
        assert col.locator(".rs-badge").inner_text().split()[0] in ("◎", "○", "×")
        assert col.locator(".rs-card").count() >= 1
        assert QUERY in page.locator("#compare-results .rs-query").inner_text()
        # every passage cites its page: the table's rows and the brochure's lines alike
        for text in col.locator(".rs-card .rs-source").all_inner_texts():
            assert re.search(r"p\.\d+", text), text
    # Side by side at 1280 px: same top, the second to the right of the first.
    a, b = columns.nth(0).bounding_box(), columns.nth(1).bounding_box()
    assert abs(a["y"] - b["y"]) < 2 and b["x"] >= a["x"] + a["width"]
    assert page.locator("#compare-results mark").count() >= 1  # matched terms are highlighted
    with page.expect_download() as download:  # the comparison itself downloads
        page.click("#compare-csv")
    saved = Path(download.value.path()).read_bytes().decode("utf-8")
    assert saved.startswith("\ufeffquery,") and all(city in saved for city in CITIES)
    path = shot(page, "compare-1280.png")
    (ROOT / "docs").mkdir(exist_ok=True)
    shutil.copyfile(path, ROOT / "docs" / "screenshot-compare.png")

    page.set_viewport_size(NARROW)  # stacked on a narrow window
    a, b = columns.nth(0).bounding_box(), columns.nth(1).bounding_box()
    assert b["y"] >= a["y"] + a["height"] and a["x"] + a["width"] <= NARROW["width"]
    # so are the query box and its button (the box is not squeezed to a third of the width), and the
    # header's title and status
    box, go = page.locator("#compare-query").bounding_box(), page.locator("#compare-go").bounding_box()
    assert go["y"] >= box["y"] + box["height"] - 1 and box["width"] >= 0.8 * NARROW["width"]
    picks, top = page.locator("#compare-cities").bounding_box(), page.locator("#compare-top").bounding_box()
    assert top["y"] >= picks["y"] + picks["height"] - 1  # the filters too
    title, status = page.locator(".rs-h1").bounding_box(), page.locator("#rs-status").bounding_box()
    assert status["y"] >= title["y"] + title["height"] - 1
    # a card without a title leads with its text, never squeezed beside its rank and chips
    widths = page.evaluate(
        "[...document.querySelectorAll('#compare-results .rs-card-head > .rs-text')].map("
        "(t) => t.getBoundingClientRect().width / t.closest('.rs-card').getBoundingClientRect().width)"
    )
    assert widths and min(widths) >= 0.6, widths
    # every city's verdict sits above the stacked columns; its link brings that column into view
    verdicts = page.locator("#compare-results .rs-verdict")
    assert [v.get_attribute("data-city") for v in verdicts.all()] == list(CITIES)
    assert verdicts.last.bounding_box()["y"] < a["y"]
    page.locator("#compare-results").scroll_into_view_if_needed()
    shot(page, "compare-420.png")
    verdicts.last.click()
    page.wait_for_function(
        "(city) => { const r = document.querySelector(`#compare-results .rs-col[data-city='${city}']`)"
        ".getBoundingClientRect(); return r.top >= 0 && r.top < 120; }",
        arg=CITIES[-1],
        timeout=5_000,
    )


# WCAG contrast of each element's text against the first opaque background behind it.
CONTRAST = """(sel) => {
  const rgba = (c) => {
    const v = c.match(/[\\d.]+/g).map(Number);
    return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1];
  };
  const lin = (x) => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); };
  const lum = (c) => 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
  const behind = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgba(getComputedStyle(el).backgroundColor);
      if (c[3] > 0.5) return c;
    }
    return [255, 255, 255, 1];
  };
  return [...document.querySelectorAll(sel)].map((el) => {
    const a = lum(rgba(getComputedStyle(el).color)), b = lum(behind(el));
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  });
}"""


def test_the_comparison_follows_its_controls(page, real_app):
    # Changing the passages per city or the cities redoes the comparison: the screen (and what downloads)
    # had kept the last one until 比較する was pressed again.
    run_compare(page, real_app, QUERY)
    # what the status region tells a screen reader when it is done: words, not Gradio's raw key
    said = "[...document.querySelectorAll('.sr-only')].map(e => e.textContent.trim())"
    page.wait_for_function(f"{said}.some(t => t == 'Done' || t.startsWith('完了'))", timeout=30_000)
    assert not any("common." in t for t in page.evaluate(said))
    cards = (
        "(n) => [...document.querySelectorAll('#compare-results .rs-col')]"
        ".every(c => c.querySelectorAll('.rs-card').length == n)"
    )
    page.wait_for_function(cards, arg=3, timeout=30_000)
    number = page.locator("#compare-top input[type=number]")
    number.fill("5")
    number.press("Enter")
    page.wait_for_function(cards, arg=5, timeout=30_000)
    page.locator("#compare-cities label", has_text=CITIES[1]).click()
    page.wait_for_function(
        "document.querySelectorAll('#compare-results .rs-col').length == 1", timeout=30_000
    )
    assert page.locator("#compare-results .rs-city").inner_text().startswith(CITIES[0])
    page.locator("#compare-cities label", has_text=CITIES[0]).click()  # none left: said so, nothing stale
    page.wait_for_function(
        "document.querySelector('#compare-results').innerText.includes('Choose at least one city')",
        timeout=30_000,
    )
    assert page.locator("#compare-results .rs-col").count() == 0
    assert page.locator("#compare-csv").is_disabled()


def test_wide_screens_use_the_width_and_narrow_ones_do_not_overflow(page, real_app):
    page.set_viewport_size({"width": 1920, "height": 1080})
    run_compare(page, real_app, QUERY)
    columns = page.locator("#compare-results .rs-col")
    first, last = columns.first.bounding_box(), columns.last.bounding_box()
    assert last["x"] + last["width"] - first["x"] >= 1800  # the city columns span the screen
    page.click("#tab-corpus-button")  # (narrow screens fold the tabs into a menu: open it first)
    page.locator("#corpus-table table").wait_for()
    page.set_viewport_size({"width": 390, "height": 844})
    wrap = page.locator("#corpus-table .rs-table-wrap").bounding_box()
    assert wrap["x"] >= 0 and wrap["x"] + wrap["width"] <= 390  # the table scrolls inside its box
    # a phone shows the columns a reader needs, whole: the file and the id are left to wider screens; the
    # rest is wider than the phone (a title squeezed into it had been five characters a line): its box
    # scrolls it sideways, and says so (test_a_phones_documents_table_keeps_names_whole_and_says_…)
    table = page.locator("#corpus-table table").bounding_box()
    assert table["width"] <= wrap["width"] + 1 or page.locator("#corpus-table .rs-scroll-hint").is_visible()
    assert not page.locator("#corpus-table .rs-th-id").is_visible()
    assert page.locator("#corpus-table .rs-th-kind").is_visible()
    page.set_viewport_size({"width": 1920, "height": 1080})  # (the tab is in the folded menu at 390 px)
    page.click("#tab-search-button")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone stacks the filters: a document's name
    picks, docs = page.locator("#search-cities").bounding_box(), page.locator("#search-docs").bounding_box()
    assert docs["y"] >= picks["y"] + picks["height"] - 1 and docs["width"] >= 0.8 * 390
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390 + 1


def test_a_column_names_the_words_its_city_never_writes(page, real_app):
    run_compare(page, real_app, "議員定数の削減")  # neither report writes 議員
    absent = page.locator("#compare-results .rs-absent")
    assert absent.count() == 2
    for text in absent.all_inner_texts():
        assert "資料にない語" in text and "not in this city's documents" in text and "議員" in text
    assert page.locator("#compare-results .rs-col-none").count() == 2
    assert min(page.evaluate(CONTRAST, "#compare-results .rs-absent")) >= 4.5
    shot(page, "compare-absent.png")


def test_text_contrast_reaches_wcag_aa(page, real_app):
    run_compare(page, real_app, QUERY)
    for sel in (
        ".rs-badge",
        ".rs-badge .rs-en",
        ".rs-source",
        ".rs-meta",
        ".rs-section",
        ".rs-hit-match",
        ".rs-query",
        ".rs-city-en",
        ".rs-dept",
    ):
        ratios = page.evaluate(CONTRAST, f"#compare-results {sel}")
        assert ratios, sel
        assert min(ratios) >= 4.5, (sel, min(ratios))
    # and the theme's own: the selected tab, the primary button, a slider's ends (2.5:1 in teal-500 or
    # slate-400 on white)
    for sel in ("button[role=tab].selected", "button.primary", ".min_value", ".max_value"):
        ratios = page.evaluate(CONTRAST, sel)
        assert ratios, sel
        assert min(ratios) >= 4.5, (sel, min(ratios))
    # and on a dark page, where slate-600 had been 2.5:1, and the results' highlights, badges' English
    # halves, full-text folds and counterparts buttons had been white on pale or teal on black
    page.goto(real_app + f"?__theme=dark&q={QUERY}")
    page.wait_for_function(
        "document.querySelectorAll('#compare-results .rs-col').length >= 2", timeout=60_000
    )
    page.wait_for_function(ARRIVED, arg="#compare-results")
    assert page.evaluate("document.body.classList.contains('dark')")
    results = (
        ".rs-badge .rs-en", ".rs-hit-match", ".rs-hit-match .rs-en", "mark.rs-hl", ".rs-card details summary",
        ".rs-cp-btn", ".rs-source", ".rs-query",
        # the marks ◎ ○ × themselves: on a dark page they had taken its light text colour on a pale pill
        ".rs-badge [aria-hidden=true]", ".rs-hit-match [aria-hidden=true]",
    )  # fmt: skip
    for sel in (*("#compare-results " + r for r in results), "button[role=tab].selected", "button.primary"):
        ratios = page.evaluate(CONTRAST, sel)
        assert ratios and min(ratios) >= 4.5, (sel, ratios)
    for sel in (".min_value", ".max_value"):
        ratios = page.evaluate(CONTRAST, sel)
        assert ratios and min(ratios) >= 4.5, (sel, ratios)


def test_counterparts_show_passages_of_the_other_city(page, real_app):
    run_compare(page, real_app, QUERY)
    buttons = page.locator("#compare-results .rs-cp-btn")
    assert buttons.count() >= 2
    found = False
    for i in range(buttons.count()):
        button = buttons.nth(i)
        pid = button.get_attribute("data-passage")
        source_city = button.locator("xpath=ancestor::section[@data-city]").get_attribute("data-city")
        button.click()
        page.wait_for_function(
            "(pid) => document.querySelector(`#compare-counterparts .rs-cp-panel`)?.dataset.source === pid",
            arg=pid,
            timeout=30_000,
        )
        page.wait_for_function(ARRIVED, arg="#compare-counterparts")
        panel = page.locator("#compare-counterparts")
        # the panel comes into view by itself (it is below all results), its title focused
        page.wait_for_function(
            "() => { const r = document.querySelector('#compare-counterparts .rs-cp-panel')"
            ".getBoundingClientRect(); return r.top >= 0 && r.top < window.innerHeight; }",
            timeout=10_000,
        )
        assert page.evaluate("document.activeElement?.classList.contains('rs-cp-title')")
        assert "score" not in panel.locator(".rs-grid").inner_text()  # no scores of different scales
        cities = [c.get_attribute("data-city") for c in panel.locator(".rs-grid .rs-col").all()]
        assert cities == [c for c in CITIES if c != source_city]
        # Counterparts that match are shown as cards (not folded away as "closest, not a match").
        shown = panel.locator(".rs-grid .rs-col > .rs-card")
        if shown.count():
            assert shown.first.is_visible()
            assert shown.count() <= 3 * len(cities)
            found = True
            break
    assert found, "no passage of the comparison had a counterpart in the other city"
    # More than the first three wait behind 「さらに N 件を表示」, hidden until asked for.
    more = panel.locator(".rs-grid .rs-col details.rs-more").first
    folded = more.locator(".rs-card")
    assert folded.count() >= 1 and not folded.first.is_visible()
    more.locator(":scope > summary").click()
    folded.first.wait_for(state="visible", timeout=5_000)
    panel.evaluate("(e) => e.scrollIntoView({block: 'start'})")
    shot(page, "counterparts-1280.png")
    # and back to the card it was asked from, its button focused (on a phone, thousands of pixels up)
    source = panel.locator(".rs-cp-panel").get_attribute("data-source")
    panel.locator(".rs-cp-back").click()
    page.wait_for_function(
        "(pid) => document.activeElement?.dataset.passage === pid"
        " && document.activeElement.closest('#compare-results') !== null",
        arg=source,
        timeout=10_000,
    )
    top = page.evaluate("document.activeElement.getBoundingClientRect().top")
    assert 0 <= top < WIDE["height"]


def test_search_themes_and_corpus_tabs(page, real_app):
    run_search(page, real_app, "電子決裁")
    cards = page.locator("#search-results .rs-card")
    assert cards.count() == 10
    page.locator("#search-csv:not([disabled])").wait_for(timeout=10_000)  # the hits download too
    with page.expect_download() as download:
        page.click("#search-csv")
    saved = Path(download.value.path()).read_bytes().decode("utf-8")
    assert saved.startswith("\ufeffquery,rank,score,") and len(saved.splitlines()) == 1 + 10
    assert cards.first.locator(".rs-city-chip").inner_text().split()[0] in CITIES  # then its romaji
    assert "出典 / source" in cards.first.inner_text()
    page.click("#search-years input")  # fiscal years as both calendars write them
    assert page.get_by_role("option", name="2024年度 / 令和6年度").count() == 1
    page.keyboard.press("Escape")
    shot(page, "search-1280.png")

    page.click("#tab-themes-button")  # the matrix is built when the tab opens
    page.wait_for_function(
        "document.querySelectorAll('#themes-heatmap .rs-hm-cell').length >= 16", timeout=60_000
    )
    cell = page.locator("#themes-heatmap .rs-hm-cell").nth(1)
    theme, city = cell.get_attribute("data-theme"), cell.get_attribute("data-city")
    cell.click()
    page.wait_for_function(
        "(city) => document.querySelector('#themes-cell .rs-col')?.dataset.city === city",
        arg=city,
        timeout=30_000,
    )
    # the passages, below the matrix and its pickers, are brought up to the top of the window
    page.wait_for_function(
        "() => { const r = document.querySelector('#themes-cell').getBoundingClientRect();"
        " return r.top >= -1 && r.top < innerHeight / 3; }",
        timeout=10_000,
    )
    assert theme in page.locator("#themes-cell").inner_text()
    page.wait_for_function("document.activeElement?.matches('#themes-cell h2.rs-query')", timeout=10_000)
    assert page.locator("#themes-csv").is_enabled() and page.locator("#themes-md").is_enabled()
    with page.expect_download() as download:
        page.click("#themes-csv")
    assert download.value.suggested_filename.endswith(".csv")
    assert Path(download.value.path()).read_bytes().startswith(b"\xef\xbb\xbf")
    shot(page, "themes-1280.png", full_page=True)
    page.set_viewport_size({"width": 375, "height": 740})  # a phone scrolls the cells sideways under
    wrap = page.locator("#themes-heatmap .rs-heatmap-wrap")  # the theme labels, pinned to its left edge
    assert page.evaluate("(w) => w.scrollWidth > w.clientWidth", wrap.element_handle())
    wrap.evaluate("w => { w.scrollLeft = w.scrollWidth; }")
    page.wait_for_timeout(200)
    left = page.evaluate(
        "() => [document.querySelector('#themes-heatmap .rs-heatmap-wrap').getBoundingClientRect().left,"
        " document.querySelector('#themes-heatmap .rs-hm-pinned').getBoundingClientRect().left]"
    )
    assert abs(left[0] - left[1]) <= 1, left
    page.set_viewport_size(WIDE)
    page.locator("#themes-text textarea").focus()  # passing through the box, unedited, keeps the cell
    page.locator("#themes-go").focus()
    page.wait_for_timeout(1500)
    assert page.locator("#themes-cell .rs-col").count() == 1 and page.locator(".rs-hm-cell").count() >= 16
    # The matrix follows its controls: a city unticked, the themes edited (the box left) redo it
    page.locator("#themes-cities label").filter(has_text=city).click()
    page.wait_for_function(
        "(city) => { const cells = [...document.querySelectorAll('#themes-heatmap .rs-hm-cell')];"
        " return cells.length > 0 && cells.every(c => c.dataset.city !== city); }",
        arg=city,
        timeout=30_000,
    )
    page.locator("#themes-text textarea").fill("ペーパーレス\n窓口")
    page.locator("#themes-go").focus()  # leaving the box
    page.wait_for_function(
        "() => new Set([...document.querySelectorAll('#themes-heatmap .rs-hm-cell')]"
        ".map(c => c.dataset.theme)).size === 2",
        timeout=30_000,
    )
    page.click("#themes-go")  # built on the button: said aloud (it had been built in silence)
    page.wait_for_function(
        "document.querySelector('#rs-announce').innerText.includes('2 themes by 1 city')", timeout=30_000
    )

    page.click("#tab-corpus-button")
    table = page.locator("#corpus-table table")
    table.wait_for()
    assert table.locator("tbody tr").count() == 2
    assert all(city in table.inner_text() for city in CITIES)
    shot(page, "corpus-1280.png")
    # No emoji or symbol glyphs anywhere (they are empty boxes where no emoji font is installed)
    symbols = page.evaluate(
        "[...document.body.innerText].filter(c => "
        "/[\\u2190-\\u21ff\\u2600-\\u27bf]|\\p{Extended_Pictographic}/u.test(c) && c !== '©' && c !== '®')"
    )
    assert symbols == []


def test_a_phone_keyboard_and_screen_reader_user_is_served(browser, html_app):
    page = browser.new_page(viewport={"width": 375, "height": 740})
    try:
        page.goto(html_app)
        query = page.locator("#compare-query textarea")
        query.wait_for()
        assert page.evaluate("document.documentElement.lang") == "ja"  # Gradio had written "en"
        assert page.locator("#rs-announce").get_attribute("aria-live") == "polite"
        query.focus()  # a city's checkbox reached by Tab shows that it has the focus
        for _ in range(20):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.closest('#compare-cities') !== null"):
                break
        assert page.evaluate("document.activeElement.type") == "checkbox"
        assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
        # the comparison arrives below a phone's fold: brought into view, its heading focused, its
        # verdicts said aloud (it had come in unseen, the focus left in the box)
        query.fill("電子決裁")
        query.press("Enter")
        page.wait_for_function(
            "document.activeElement?.matches('#compare-results h2.rs-query')", timeout=60_000
        )
        top = page.evaluate(
            "document.querySelector('#compare-results .rs-query').getBoundingClientRect().top"
        )
        assert 0 <= top < 740
        page.wait_for_function(  # the verdicts, said (the region emptied first, so a repeat is said too)
            "['テスト市', 'サンプル町']"
            ".every(c => document.querySelector('#rs-announce').innerText.includes(c))",
            timeout=10_000,
        )
        badges = page.locator("#compare-results .rs-badge .rs-en[lang=en]")
        assert badges.count() == 4 + 3  # verdicts, columns, and the three of the folded legend
        assert page.locator("#compare-results .rs-legend .rs-badge").count() == 3
        query.fill("の")  # nothing can match: why is said, not only the heading
        query.press("Enter")
        page.wait_for_function(
            "document.querySelector('#rs-announce').innerText.includes('no content word')", timeout=60_000
        )
    finally:
        page.close()


def seven_city_heatmap(match, matching: int) -> str:
    """The heatmap of the built-in themes over seven fixture cities, every cell `match`: wider than a
    phone, which scrolls its cells sideways."""
    from reform_search import heatmap
    from search.compare import Column, Evidence
    from search.themes import DEFAULT_THEMES, Cell, Matrix

    cities = tuple(f"テスト{n}市" for n in range(7))
    cells = tuple(
        Cell(t, Column(c, match, (), Evidence(0.0), matching)) for t in DEFAULT_THEMES for c in cities
    )
    return heatmap.heatmap_svg(Matrix(tuple(DEFAULT_THEMES), cities, cells))


def test_a_wide_heatmap_keeps_its_theme_labels_pinned_across_the_whole_scroll(page):
    # With seven cities a phone scrolls the cells some 500 px: the pinned labels had stopped at the edge
    # of a grid as narrow as the screen, and scrolled away past its middle
    from reform_search.web.state import CSS
    from search.labels import Match

    matrix = seven_city_heatmap(Match.NONE, 0)
    page.set_viewport_size({"width": 375, "height": 800})
    page.set_content(f"<style>{CSS}</style><div class='gradio-container' style='padding:40px'>{matrix}</div>")
    wrap = page.locator(".rs-heatmap-wrap")
    assert wrap.evaluate("w => w.scrollWidth - w.clientWidth") > 400
    for x in (0, 150, 300, 450, 10_000):
        wrap.evaluate(f"w => {{ w.scrollLeft = {x}; }}")
        left = page.evaluate(
            "() => document.querySelector('.rs-hm-pinned').getBoundingClientRect().left"
            " - document.querySelector('.rs-heatmap-wrap').getBoundingClientRect().left"
        )
        assert abs(left) <= 1, (x, left)


def test_all_and_none_tick_the_cities_and_redo_the_result(page, html_app):
    run_compare(page, html_app, "電子決裁")
    ticked = (
        "(id) => [...document.querySelectorAll(`#${id} input[type=checkbox]`)].filter(c => c.checked).length"
    )
    page.click("#compare-none")  # none: said in place, for the reader to tick the few she wants
    page.wait_for_function(
        "document.querySelector('#compare-results').innerText.includes('Choose at least one city')"
    )
    assert page.evaluate(ticked, "compare-cities") == 0
    page.locator("#compare-cities label").filter(has_text="サンプル町").click()
    page.wait_for_function("document.querySelectorAll('#compare-results .rs-col').length === 1")
    page.evaluate("document.getElementById('rs-announce').textContent = ''")
    page.click("#compare-all")  # all: every city again, compared at once, and said (the focus stays)
    page.wait_for_function("document.querySelectorAll('#compare-results .rs-col').length === 2")
    assert page.evaluate(ticked, "compare-cities") == 2
    page.wait_for_function(
        "['テスト市', 'サンプル町'].every(c => document.getElementById('rs-announce').innerText.includes(c))"
    )
    assert page.evaluate("document.activeElement.id") == "compare-all"
    page.click("#tab-themes-button")  # the matrix follows them too
    page.wait_for_function(
        "document.querySelectorAll('#themes-heatmap .rs-hm-cell').length > 0", timeout=60_000
    )
    page.click("#themes-none")
    page.wait_for_function(
        "document.querySelector('#themes-heatmap').innerText.includes('Choose at least one city')"
    )
    page.click("#themes-all")
    page.wait_for_function(
        "new Set([...document.querySelectorAll('#themes-heatmap .rs-hm-cell')]"
        ".map(c => c.dataset.city)).size === 2"
    )


def test_the_search_modes_are_one_group_chosen_with_the_arrow_keys(page, html_app):
    page.goto(html_app)
    page.click("#tab-search-button")
    radios = page.locator("#search-mode input[type=radio]")
    radios.first.wait_for()
    assert len(set(radios.evaluate_all("rs => rs.map(r => r.name)"))) == 1  # Gradio had named each apart
    checked = radios.evaluate_all("rs => rs.findIndex(r => r.checked)")
    radios.nth(checked).focus()
    page.locator("#search-query textarea").fill("電子決裁")
    page.click("#search-go")
    page.wait_for_function("document.querySelectorAll('#search-results .rs-card').length > 0", timeout=60_000)
    before = page.locator("#search-results").inner_html()
    radios.nth(checked).focus()
    page.keyboard.press("ArrowDown")
    chosen = (checked + 1) % radios.count()
    page.wait_for_timeout(1500)  # the choice holds, and the search is redone in the chosen mode
    assert radios.evaluate_all("rs => rs.findIndex(r => r.checked)") == chosen
    page.wait_for_function("(b) => document.querySelector('#search-results').innerHTML !== b", arg=before)


def test_brochure_hits_cite_their_page(page, real_app):
    run_search(page, real_app, "LoGoチャット")
    cards = page.locator("#search-results .rs-card")
    iwaki = [cards.nth(i) for i in range(cards.count()) if "いわき市" in cards.nth(i).inner_text()]
    assert iwaki, "いわき市's brochure should answer LoGoチャット"
    for card in iwaki:
        assert re.search(r"p\.\d+", card.locator(".rs-source").inner_text())


def test_document_text_is_shown_as_text(page, html_app):
    run_search(page, html_app, "電子決裁 テレワーク")
    results = page.locator("#search-results")
    text = results.inner_text()
    for literal in ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "${1+1}", "{{value}}"):
        assert literal in text
    assert results.locator("script, img").count() == 0
    shot(page, "html-as-text-1280.png")

    run_compare(page, html_app, "電子決裁")
    assert "<script>alert(1)</script>" in page.locator("#compare-results").text_content()  # folded too
    assert page.locator("#compare-results script, #compare-results img").count() == 0
    page.wait_for_timeout(500)
    assert page.dialogs == []


def test_upload_adds_a_city(page, html_app, tmp_path):
    plan = tmp_path / "koriyama.txt"
    plan.write_text(
        "郡山市の架空の改革メモ（テスト用）。\n\n第2章 デジタル化の推進\n\n"
        "・ペーパーレス会議を全庁で始める\n",
        encoding="utf-8",
    )
    page.goto(html_app)
    page.click("#tab-corpus-button")
    page.click("#corpus-add")  # no file yet: refused in the message area, the table left alone
    page.wait_for_function(
        "document.querySelector('#corpus-message').innerText.includes('choose a file')", timeout=30_000
    )
    assert page.locator("#corpus-message").get_attribute("aria-live") == "polite"  # said aloud
    assert "エラー / Error" in page.locator("#corpus-message").inner_text()
    assert "エラー" not in page.locator("#corpus-table").inner_text()
    assert page.locator("#corpus-table .error").count() == 0
    drop = page.locator("#corpus-file").inner_text()  # the drop zone speaks both languages
    assert "ファイルをここにドロップ / drop a file here" in drop and "Drop File Here" not in drop
    page.set_input_files("#corpus-file input[type=file]", str(plan))
    page.wait_for_function("document.querySelector('#corpus-file').innerText.includes('koriyama')")
    page.locator("#corpus-city textarea").fill("郡山市")
    page.locator("#corpus-title textarea").fill("郡山市 架空の改革メモ")
    page.click("#corpus-add")
    page.wait_for_function(
        "document.querySelector('#corpus-message').innerText.includes('added')", timeout=60_000
    )
    assert "郡山市" in page.locator("#corpus-table").inner_text()
    assert "3 市町村" in page.locator("#rs-status").inner_text()
    page.wait_for_timeout(1000)  # the progress of the embedding goes once the document is in
    assert "埋め込み計算中" not in page.locator("body").inner_text()
    page.click("#tab-compare-button")
    assert "郡山市" in page.locator("#compare-cities").inner_text()
    shot(page, "corpus-added-1280.png")
    run_search(page, html_app, "ペーパーレス会議")  # its numbered heading became the item's section
    card = page.locator("#search-results .rs-card").filter(has_text="郡山市").first
    assert "第2章 デジタル化の推進" in card.inner_text()
    page.click("#tab-corpus-button")

    page.click("#tab-corpus-button")  # and out again, after the server's question
    assert page.locator("#corpus-remove").is_disabled()  # grey until a document is chosen
    page.click("#corpus-remove-doc input")
    page.get_by_role("option", name="郡山市「郡山市 架空の改革メモ」").click()
    page.locator("#corpus-remove:not([disabled])").wait_for(timeout=10_000)
    page.click("#corpus-remove")
    question = page.locator("#corpus-confirm-text")
    question.wait_for(state="visible", timeout=30_000)
    assert "郡山市「郡山市 架空の改革メモ」" in question.inner_text()
    page.click("#corpus-remove-no")  # "no" first: nothing happens, and no error is shown
    question.wait_for(state="hidden", timeout=30_000)
    assert "郡山市" in page.locator("#corpus-table").inner_text()
    body = page.locator("body").inner_text()
    assert "is not in the list of choices" not in body and "removed" not in body
    assert page.locator(".toast-body.error, .toast-wrap .error").count() == 0
    page.click("#corpus-remove")
    question.wait_for(state="visible", timeout=30_000)
    page.click("#corpus-remove-yes")
    page.wait_for_function(
        "document.querySelector('#corpus-message').innerText.includes('removed')", timeout=60_000
    )
    assert "郡山市" not in page.locator("#corpus-table").inner_text()
    empty = tmp_path / "empty.txt"  # a refusal is said in Japanese first, then in English
    empty.write_bytes(b"")
    page.set_input_files("#corpus-file input[type=file]", str(empty))
    page.locator("#corpus-city textarea").fill("郡山市")
    page.locator("#corpus-title textarea").fill("空のファイル")
    page.click("#corpus-add")
    page.wait_for_function(
        "document.querySelector('#corpus-message').innerText.includes('は空です')", timeout=30_000
    )
    said = page.locator("#corpus-message").inner_text()
    assert "empty.txt は空です / empty.txt is empty" in said
    photo = tmp_path / "photo.png"  # a type it cannot read too (Gradio's own check is English only)
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    page.locator("#corpus-file button[aria-label*='clear' i]").first.click()  # the refused one stays
    page.set_input_files("#corpus-file input[type=file]", str(photo))
    page.click("#corpus-add")
    page.wait_for_function(
        "document.querySelector('#corpus-message').innerText.includes('photo.png')", timeout=30_000
    )
    said = page.locator("#corpus-message").inner_text()
    assert "この種類のファイル（.png）は追加できません" in said and "cannot be added" in said
    assert "Invalid file type" not in page.locator("body").inner_text()
    assert page.dialogs == []


def test_a_keyboard_user_skips_past_the_examples_and_filters_to_the_results(page, html_app):
    # the first result had been some 15 Tab presses past the query: the button, six examples, the cities,
    # all / none, the number of passages and the downloads
    run_compare(page, html_app, "電子決裁")
    page.locator("#compare-go").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.matches('.rs-skip')")
    box = page.evaluate("JSON.stringify(document.activeElement.getBoundingClientRect())")
    assert json.loads(box)["left"] >= 0 and json.loads(box)["width"] > 0  # seen while focused
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#compare-results') !== null")


def test_a_japanese_word_offered_to_an_english_question_compares_it_at_a_click(page, real_app):
    # 日本語で試す had been plain text: a reader who writes no Japanese had to type it
    run_compare(page, real_app, "paperless administration")
    word = page.locator("#compare-results .rs-try-word").first
    word.wait_for(timeout=30_000)
    tried = word.get_attribute("data-try")
    word.click()
    page.wait_for_function(
        "(w) => document.querySelector('#compare-results .rs-query')?.innerText.includes(w)",
        arg=f"「{tried}」",
        timeout=60_000,
    )
    assert page.locator("#compare-query textarea").input_value() == tried


def test_the_address_links_to_what_is_shown_and_opens_it_again(page, html_app):
    run_compare(page, html_app, "電子決裁")
    page.wait_for_function("new URL(location.href).searchParams.get('q') === '電子決裁'")
    assert page.evaluate("new URL(location.href).searchParams.get('tab')") == "compare"
    assert page.evaluate("new URL(location.href).searchParams.getAll('city')") == []  # every city: none
    page.locator("#compare-cities label").filter(has_text="テスト市").click()  # one city left ticked
    page.wait_for_function("document.querySelectorAll('#compare-results .rs-col').length === 1")
    page.wait_for_function("new URL(location.href).searchParams.getAll('city').length === 1")
    link = page.url
    assert page.evaluate("new URL(location.href).searchParams.get('city')") == "サンプル町"
    shown = page.locator("#compare-results .rs-col").inner_text()

    again = page  # the link, opened anew: the same comparison, its box and cities set
    again.goto("about:blank")
    again.goto(link)
    again.wait_for_function("document.querySelectorAll('#compare-results .rs-col').length === 1")
    again.wait_for_function(ARRIVED, arg="#compare-results")
    assert again.locator("#compare-query textarea").input_value() == "電子決裁"
    ticked = (
        "[...document.querySelectorAll('#compare-cities input:checked')].map(c => c.parentNode.innerText)"
    )
    assert [c.split()[0] for c in again.evaluate(ticked)] == ["サンプル町"]
    assert again.locator("#compare-results .rs-col").inner_text() == shown

    # a search link opens the search tab; a name no longer indexed is left out; Gradio's own parameter
    # is kept when the page writes the address
    again.goto(html_app + "?tab=search&q=電子決裁&city=テスト市&city=廃止村&__theme=light")
    again.wait_for_function("document.querySelectorAll('#search-results .rs-card').length > 0")
    again.wait_for_function(ARRIVED, arg="#search-results")
    assert again.locator("#tab-search-button").get_attribute("aria-selected") == "true"
    # the address tidied to what is shown: the city no longer indexed left out
    again.wait_for_function("new URL(location.href).searchParams.getAll('city').join() === 'テスト市'")
    cities = again.locator("#search-results .rs-card .rs-city-chip").all_inner_texts()
    assert cities and all("テスト市" in c for c in cities)
    again.locator("#search-query textarea").fill("窓口")
    again.click("#search-go")
    again.wait_for_function("new URL(location.href).searchParams.get('q') === '窓口'")
    assert again.evaluate("new URL(location.href).searchParams.get('__theme')") == "light"

    # a link without a tab compares, in the first tab (no tab selected): said aloud as an asked comparison
    # is, its address tidied (a gr.State had reached the script as null, so neither had happened)
    again.goto(html_app + "?q=電子決裁&city=テスト市&city=廃止村")
    again.wait_for_function(ARRIVED, arg="#compare-results")
    again.wait_for_function("new URL(location.href).searchParams.get('tab') === 'compare'")
    assert again.evaluate("new URL(location.href).searchParams.getAll('city')") == ["テスト市"]
    again.wait_for_function("document.getElementById('rs-announce').textContent.includes('電子決裁')")

    again.goto(html_app + "?tab=themes")  # a tab alone: opened, its matrix built as by a click
    again.wait_for_function("document.querySelectorAll('#themes-heatmap .rs-hm-cell').length > 0")
    assert again.locator("#tab-themes-button").get_attribute("aria-selected") == "true"
    # the address follows the tab shown; none ticked, it links to no comparison
    again.click("#tab-compare-button")
    again.locator("#compare-query textarea").fill("電子決裁")
    again.click("#compare-go")
    again.wait_for_function("new URL(location.href).searchParams.get('tab') === 'compare'")
    again.click("#compare-none")
    again.wait_for_function("new URL(location.href).searchParams.get('q') === null")
    again.click("#tab-search-button")  # its box empty: the tab alone (it had been a bare "/", the first tab)
    again.wait_for_function("new URL(location.href).search === '?tab=search'")
    again.click("#tab-corpus-button")
    again.wait_for_function("new URL(location.href).search.includes('tab=corpus')")


# the address's parameters, as the page reads them
PARAMS = "(k) => new URL(location.href).searchParams.getAll(k)"


def test_a_link_reopens_the_controls_it_carries_and_the_address_holds_them(page, html_app):
    # A copied link had held only the tab, query and cities: it reopened at the default 件数, mode and
    # filters, a different page from the one it was copied from
    page.goto(html_app + "?q=電子決裁&k=1")
    page.wait_for_function("document.querySelectorAll('#compare-results .rs-col').length === 2")
    page.wait_for_function(ARRIVED, arg="#compare-results")
    columns = page.locator("#compare-results .rs-col")
    assert [columns.nth(i).locator(".rs-card").count() for i in range(2)] == [1, 1]
    assert page.locator("#compare-top input[type=number]").input_value() == "1"
    assert page.evaluate(PARAMS, "k") == ["1"]  # kept when the address is tidied

    link = "?tab=search&q=電子決裁&mode=lexical&k=oops&k=2&doc=samplecho-memo&doc=gone&year=2023&year=1999"
    page.goto(html_app + link)
    page.wait_for_function("document.querySelectorAll('#search-results .rs-card').length > 0")
    page.wait_for_function(ARRIVED, arg="#search-results")
    assert page.locator("#search-mode input:checked").input_value() == "lexical"
    assert page.locator("#search-top input[type=number]").input_value() == "2"
    assert "サンプル町" in page.locator("#search-docs").inner_text()  # its one document chosen
    assert "2023" in page.locator("#search-years").inner_text()
    cities = page.locator("#search-results .rs-card .rs-city-chip").all_inner_texts()
    assert 1 <= len(cities) <= 2 and all("サンプル町" in c for c in cities)
    # the address tidied to what is shown: the values no control took left out
    page.wait_for_function(f"({PARAMS})('year').join() === '2023'")
    assert [page.evaluate(PARAMS, k) for k in ("mode", "k", "doc")] == [
        ["lexical"],
        ["2"],
        ["samplecho-memo"],
    ]
    number = page.locator("#search-top input[type=number]")  # a control changed: the address follows,
    number.fill("10")  # at its first value left out
    number.press("Enter")
    page.wait_for_function(f"({PARAMS})('k').length === 0")
    page.locator("#search-mode label").filter(has_text="hybrid").click()  # back to its first value: out
    page.wait_for_function(f"({PARAMS})('mode').length === 0")
    assert page.evaluate(PARAMS, "year") == ["2023"]


def test_back_and_forward_go_between_questions(page, html_app):
    # Each question had replaced the address: Back left the page instead of showing the last question
    run_compare(page, html_app, "電子決裁")
    page.wait_for_function(f"({PARAMS})('q').join() === '電子決裁'")
    page.evaluate("window.rsStill = true")  # no page is loaded anew
    first = page.locator("#compare-results").inner_text()
    entries = page.evaluate("history.length")
    page.click("#compare-go")  # the same question again: no new entry
    page.wait_for_timeout(1000)
    page.wait_for_function(ARRIVED, arg="#compare-results")
    assert page.evaluate("history.length") == entries
    box = page.locator("#compare-query textarea")
    box.fill("テレワーク")
    page.click("#compare-go")
    page.wait_for_function(f"({PARAMS})('q').join() === 'テレワーク'")
    page.wait_for_function(ARRIVED, arg="#compare-results")
    second = page.locator("#compare-results").inner_text()
    # the window's title names the question, so that Back's list tells the entries apart (it had not moved)
    assert page.title().startswith("テレワーク — 比較 · ")

    shown = "(q) => document.querySelector('#compare-results .rs-query')?.innerText.includes(q)"
    query = "(q) => document.querySelector('#compare-query textarea')?.value === q"
    page.go_back()  # the first question: its results and its query box
    page.wait_for_function(query, arg="電子決裁")
    page.wait_for_function(shown, arg="電子決裁", timeout=30_000)
    page.wait_for_function(ARRIVED, arg="#compare-results")
    assert page.locator("#compare-results").inner_text() == first
    assert page.evaluate(PARAMS, "q") == ["電子決裁"]
    page.go_back()  # the page as it opened, before its first question: the box emptied
    page.wait_for_function(query, arg="")
    page.wait_for_function("document.querySelector('#compare-results .rs-hint') !== null")
    assert page.evaluate("location.search") == ""
    page.wait_for_function("document.title === window.rsTitle")  # the page's own title again
    page.go_forward()
    page.wait_for_function(shown, arg="電子決裁", timeout=30_000)
    page.go_forward()  # and the second again
    page.wait_for_function(query, arg="テレワーク")
    page.wait_for_function(shown, arg="テレワーク", timeout=30_000)
    page.wait_for_function(ARRIVED, arg="#compare-results")
    assert page.locator("#compare-results").inner_text() == second
    assert page.evaluate("window.rsStill") is True  # restored in place

    number = page.locator("#compare-top input[type=number]")  # a control changed: a question too
    number.fill("1")
    number.press("Enter")
    page.wait_for_function(f"({PARAMS})('k').join() === '1'")
    assert page.evaluate("history.length") == entries + 2
    page.go_back()  # the second question, at its first 件数
    page.wait_for_function(f"({PARAMS})('k').length === 0")
    page.wait_for_function("document.querySelector('#compare-top input[type=number]').value === '3'")
    page.wait_for_function(
        "(t) => document.querySelector('#compare-results').innerText === t", arg=second, timeout=30_000
    )

    # a search's tab and mode come back too
    page.click("#tab-search-button")
    page.locator("#search-query textarea").fill("窓口")
    page.locator("#search-mode label").filter(has_text="lexical").click()
    page.click("#search-go")
    page.wait_for_function(f"({PARAMS})('mode').join() === 'lexical'")
    page.wait_for_function(ARRIVED, arg="#search-results")
    page.click("#tab-compare-button")
    page.wait_for_function(f"({PARAMS})('tab').join() === 'compare'")
    page.go_back()
    page.wait_for_function(
        "document.querySelector('#tab-search-button').getAttribute('aria-selected') === 'true'"
    )
    assert page.locator("#search-mode input:checked").input_value() == "lexical"
    assert page.locator("#search-query textarea").input_value() == "窓口"


def test_a_result_redone_below_a_phones_window_is_signalled(browser, html_app):
    page = browser.new_page(viewport={"width": 375, "height": 740})
    try:
        run_compare(page, html_app, "電子決裁")
        page.evaluate("window.scrollTo(0, 0)")
        before = page.locator("#compare-results").inner_html()
        assert page.evaluate("document.getElementById('compare-results').getBoundingClientRect().top") > 600
        page.locator("#compare-cities label").filter(has_text="テスト市").click()  # redone out of sight
        page.wait_for_function(
            "(b) => document.querySelector('#compare-results').innerHTML !== b", arg=before
        )
        sign = page.locator("#rs-updated")
        sign.wait_for(state="visible")
        assert "results updated" in sign.inner_text()
        # on one line, and not over the control just used (it had covered the city ticked)
        pill, used = (
            sign.bounding_box(),
            page.locator("#compare-cities label").filter(has_text="テスト市").bounding_box(),
        )
        assert pill["height"] < 50
        assert pill["y"] >= used["y"] + used["height"] or pill["y"] + pill["height"] <= used["y"]
        assert page.evaluate("window.scrollY") == 0  # the page did not move under the reader's finger
        sign.click()  # taken to the results; the sign goes
        page.wait_for_function(
            "document.getElementById('compare-results').getBoundingClientRect().top < innerHeight * 0.5"
        )
        sign.wait_for(state="hidden")
    finally:
        page.close()


def test_a_verdicts_link_carries_the_comparison_into_a_new_tab(browser, html_app):
    # A verdict's href had been a bare "#rs-verdict-1": resolved against the page's base as "/#…", so a
    # middle click or a copied link opened an empty page, the comparison lost. A phone's window: the
    # columns stacked, the second city's some screens below the top of the page
    page = browser.new_page(viewport={"width": 420, "height": 480})
    try:
        run_compare(page, html_app, "電子決裁")
        page.wait_for_function("new URL(location.href).searchParams.get('q') === '電子決裁'")
        address = page.url
        chip = page.locator("#compare-results .rs-verdict").last
        assert chip.evaluate("a => a.href") == f"{address}#rs-verdict-1"  # what a copy of the link holds
        skip = page.locator(".rs-skip").first  # and every other in-page link
        assert skip.evaluate("a => a.href") == f"{address}#compare-results"
        # a plain click still moves within the page: no page loaded, the address as it was
        page.evaluate("window.rsStill = true; window.scrollTo(0, 0)")
        chip.click()
        city = chip.get_attribute("data-city")
        column = f"document.querySelector('#compare-results .rs-col[data-city=\"{city}\"]')"
        page.wait_for_function(
            f"{column}.getBoundingClientRect().top >= 0 && {column}.getBoundingClientRect().top < 120",
            timeout=5_000,
        )
        assert page.evaluate("window.rsStill") is True and page.url == address
        # a middle click opens the same comparison in a new tab, scrolled to that city
        with page.context.expect_page() as opened:
            chip.click(button="middle")
        tab = opened.value
        tab.wait_for_function(
            "document.querySelectorAll('#compare-results .rs-col').length === 2", timeout=60_000
        )
        assert tab.locator("#compare-query textarea").input_value() == "電子決裁"
        tab.wait_for_function(
            f"{column}.getBoundingClientRect().top >= 0 && {column}.getBoundingClientRect().top < 120",
            timeout=10_000,
        )
        assert tab.evaluate("document.activeElement?.dataset.city") == city
        # the next comparison asked there drops the place in the last one from the address
        tab.locator("#compare-query textarea").fill("窓口")
        tab.click("#compare-go")
        tab.wait_for_function("new URL(location.href).searchParams.get('q') === '窓口'")
        assert tab.evaluate("location.hash") == ""
        tab.close()
    finally:
        page.close()


def test_a_phone_shows_a_long_theme_choice_whole(browser, html_app):
    # An input cannot wrap: 「公共施設の再編・長寿命化 / public facilities」 was cut at a phone's width
    from search.themes import THEMES_EN

    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        page.goto(html_app + "?tab=themes")
        page.wait_for_function("document.querySelectorAll('#themes-heatmap .rs-hm-cell').length > 0")
        picker = page.get_by_label("テーマ / theme", exact=True)
        block = page.locator(".block", has=picker).last
        for theme in ("公共施設の再編・長寿命化", "AI・RPAによる業務効率化"):  # chosen, and by a cell
            label = f"{theme} / {THEMES_EN[theme]}"
            if theme.startswith("公共"):
                picker.click()
                page.get_by_role("option", name=label).click()
            else:
                page.locator(f"#themes-heatmap .rs-hm-cell[data-theme='{theme}']").first.click()
            page.wait_for_function(
                "(v) => document.querySelector('input[aria-label=\"テーマ / theme\"]').value === v", arg=label
            )
            assert picker.evaluate("e => e !== document.activeElement")
            shown = block.get_by_text(label, exact=True)
            shown.wait_for(timeout=10_000)
            box, field = shown.bounding_box(), block.locator(".wrap").first.bounding_box()
            arrow = block.locator(".icon-wrap").bounding_box()
            # whole: wrapped onto a second line inside the field, its text clear of the arrow, nothing cut
            text = shown.evaluate(
                "e => { const r = document.createRange(); r.selectNodeContents(e);"
                " return JSON.parse(JSON.stringify(r.getBoundingClientRect())); }"
            )
            size = shown.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
            assert text["height"] > 1.5 * size
            assert field["x"] <= text["x"] and text["x"] + text["width"] <= arrow["x"] + 1
            assert box["y"] >= field["y"] and box["y"] + box["height"] <= field["y"] + field["height"]
            assert shown.evaluate("e => e.scrollWidth <= e.clientWidth && e.scrollHeight <= e.clientHeight")
            # and drawn once: the input's own (cut) text is not drawn under it
            assert picker.evaluate("e => getComputedStyle(e).color") == "rgba(0, 0, 0, 0)"
        picker.focus()  # typing to filter shows the input's own text, and no copy over it
        assert not block.get_by_text(label, exact=True).is_visible()
        assert picker.evaluate("e => getComputedStyle(e).color") != "rgba(0, 0, 0, 0)"
        for option in page.get_by_role("option").all():  # the open list's choices wrap too
            assert option.evaluate("e => e.scrollWidth <= e.clientWidth"), option.inner_text()
    finally:
        page.close()


def test_a_phone_scrolls_the_heatmaps_cells_but_not_its_caption_and_legend(page):
    # The caption above the matrix and the legend under it had scrolled sideways, out of view, with the
    # cells of a matrix wider than the phone
    from reform_search.web.state import CSS, JS
    from search.labels import Match

    matrix = seven_city_heatmap(Match.WEAK, 1)
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_content(
        f"<html><head><style>{CSS}</style><script>{JS['page']}</script></head>"
        f"<body><div class='gradio-container' style='padding:16px'>{matrix}</div></body></html>"
    )
    wrap = page.locator(".rs-heatmap-wrap")
    caption = wrap.get_by_text("セルをクリックすると該当箇所を表示", exact=False)
    legend = [wrap.get_by_text(f"{m.ja} {m.value}", exact=False).last for m in (Match.STRONG, Match.WEAK)]
    assert wrap.evaluate("w => w.scrollWidth - w.clientWidth") > 400
    for x in (0, 200, 10_000):
        wrap.evaluate(f"w => {{ w.scrollLeft = {x}; }}")
        seen = wrap.bounding_box()
        for part in (caption, *legend):
            box = part.bounding_box()
            right = seen["x"] + seen["width"] + 1
            assert seen["x"] - 1 <= box["x"] and box["x"] + box["width"] <= right, (x, box, seen)
    # the legend follows the cells, with nothing between
    cells_foot = page.evaluate(
        "Math.max(...[...document.querySelectorAll('.rs-hm-cell rect')]"
        ".map(r => r.getBoundingClientRect().bottom))"
    )
    assert 0 <= legend[0].bounding_box()["y"] - cells_foot < 40


PHONE = {"width": 390, "height": 844}
# A box's sideways-scroll cue as the reader sees it: its hint shown, its right edge fading
SCROLL_CUE = (
    "(box) => { const hint = box.querySelector('.rs-scroll-hint');"
    " return {over: box.scrollWidth - box.clientWidth, hint: hint !== null && hint.offsetParent !== null"
    " && hint.getBoundingClientRect().left >= box.getBoundingClientRect().left - 1,"
    " fade: getComputedStyle(box).maskImage.includes('gradient')}; }"
)
UNFADED = "(box) => !getComputedStyle(box).maskImage.includes('gradient')"


def test_a_phones_documents_table_keeps_names_whole_and_says_that_it_scrolls(browser, real_app):
    # The title column had been some five characters wide, and Aizuwakamatsu broken into three lines
    page = browser.new_page(viewport=PHONE)
    try:
        page.goto(real_app + "?tab=corpus")
        box = page.locator("#corpus-table .rs-table-wrap")
        box.locator("tbody tr").first.wait_for()
        # a city, Japanese and romaji, each on one line; a title in lines of some twelve characters
        lines = box.evaluate(
            "b => [...b.querySelectorAll('.rs-td-city')].map(td => {"
            " const r = document.createRange(); r.selectNodeContents(td.firstChild);"
            " return [r.getClientRects().length, td.querySelector('.rs-city-en').getClientRects().length]; })"
        )
        assert lines == [[1, 1], [1, 1]], lines
        title, size = box.evaluate(
            "b => [b.querySelector('.rs-td-title').getBoundingClientRect().width,"
            " parseFloat(getComputedStyle(b.querySelector('.rs-td-title')).fontSize)]"
        )
        assert title >= 10 * size, (title, size)
        # wider than the phone: it scrolls, and says so
        cue = page.evaluate(SCROLL_CUE, box.element_handle())
        assert cue["over"] > 0 and cue["hint"] and cue["fade"], cue
        assert "横にスクロール" in box.locator(".rs-scroll-hint").inner_text()
        box.evaluate("b => { b.scrollLeft = b.scrollWidth; }")  # at its end: nothing more, no fade
        page.wait_for_function(
            "(b) => !getComputedStyle(b).maskImage.includes('gradient')", arg=box.element_handle()
        )
        # the row's city stays in view at the box's left edge (it had scrolled away with the title)
        left = box.evaluate(
            "b => [b.getBoundingClientRect().left,"
            " b.querySelector('.rs-td-city').getBoundingClientRect().left]"
        )
        assert abs(left[0] - left[1]) <= 1, left
        assert page.evaluate(SCROLL_CUE, box.element_handle())["hint"]  # the hint held at the left edge
        shot(page, "corpus-390.png")
        page.set_viewport_size(WIDE)  # room for the whole table: no hint, no fade
        page.wait_for_function("(b) => b.scrollWidth <= b.clientWidth", arg=box.element_handle())
        cue = page.evaluate(SCROLL_CUE, box.element_handle())
        assert not cue["hint"] and not cue["fade"], cue
    finally:
        page.close()


def test_a_phones_heatmap_says_that_it_scrolls_sideways(browser, real_app):
    # The second city's column was cut at the phone's edge, with no sign that the matrix scrolls
    page = browser.new_page(viewport=PHONE)
    try:
        page.goto(real_app + "?tab=themes")
        page.wait_for_function("document.querySelectorAll('#themes-heatmap .rs-hm-cell').length >= 16")
        page.wait_for_function(ARRIVED, arg="#themes-heatmap")
        box = page.locator("#themes-heatmap .rs-heatmap-wrap")
        cue = page.evaluate(SCROLL_CUE, box.element_handle())
        assert cue["over"] > 0 and cue["hint"] and cue["fade"], cue
        # the hint is above the cells, not over them, and clear of the fade
        hint, cells = box.locator(".rs-scroll-hint").bounding_box(), box.locator(".rs-hm-grid").bounding_box()
        assert hint["y"] + hint["height"] <= cells["y"] + 1
        shot(page, "themes-390.png")
        box.evaluate("b => { b.scrollLeft = b.scrollWidth; }")
        page.wait_for_function(
            "(b) => !getComputedStyle(b).maskImage.includes('gradient')", arg=box.element_handle()
        )
        page.set_viewport_size(WIDE)
        page.wait_for_function("(b) => b.scrollWidth <= b.clientWidth", arg=box.element_handle())
        assert not page.evaluate(SCROLL_CUE, box.element_handle())["hint"]
    finally:
        page.close()


def test_the_tab_bars_more_button_is_named(browser, html_app):
    # Gradio folds the tabs that do not fit a phone under an icon button: named in English alone
    page = browser.new_page(viewport=PHONE)
    try:
        page.goto(html_app)
        more = page.get_by_role("button", name="その他のタブ / More tabs", exact=True)
        more.wait_for(timeout=30_000)
        assert more.count() == 1 and more.is_visible()
        more.click()  # it still opens the folded tabs
        page.get_by_role("button", name="資料 / Corpus").last.wait_for(timeout=10_000)
    finally:
        page.close()
