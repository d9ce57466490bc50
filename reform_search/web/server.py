"""Serving the app: launch options (host, auth, limits, MCP, the guard), refusing an open network without
auth, and `serve` (index if needed, load one Searcher, launch)."""

from __future__ import annotations

import signal
import socket
import sys

import gradio as gr
from starlette.middleware import Middleware

from index.prefault import prefault
from reform_search.app import open_searcher, tqdm_progress
from reform_search.bounds import Bounds
from reform_search.guard import Guard
from reform_search.manage import OtherCorpus, index_all
from reform_search.settings import Settings
from reform_search.web.layout import build_app
from reform_search.web.page import JapanesePage
from reform_search.web.state import CSS, JS


def parse_auth(value: str) -> tuple[str, str] | None:
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ValueError("auth must be user:password (setting auth / REFORM_SEARCH_AUTH)")
    return user, password


# Gradio's words in the file drop zone ("Drop File Here - or - Click to Upload"), in both languages.
UPLOAD_TEXT = {
    "upload_text.drop_file": "ファイルをここにドロップ / drop a file here",
    "common.or": "または / or",
    "upload_text.click_to_upload": "クリックして選ぶ / click to choose",
}


def launch_options(settings: Settings) -> dict:
    """Arguments of Blocks.launch() for these settings: host, port, auth, upload limit; never a share link."""
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "auth": parse_auth(settings.auth),
        "share": False,
        # a call Gradio itself refuses (plain HTTP's `data` short of a parameter) says why, not null
        "show_error": True,
        "max_file_size": f"{settings.max_upload_mb}mb",
        # teal-700 under the buttons' white text: the theme's teal-500 gave 2.5:1, under WCAG AA's 4.5:1
        "theme": gr.themes.Default(primary_hue="teal", neutral_hue="slate").set(
            button_primary_background_fill="#0f766e",
            button_primary_background_fill_hover="#115e59",
            button_primary_text_color="#ffffff",
            button_primary_background_fill_dark="#0f766e",
            button_primary_background_fill_hover_dark="#115e59",
            button_primary_text_color_dark="#ffffff",
        ),
        "css": CSS,
        "head": f"<script>{JS['page']}</script>",
        "footer_links": ["api"],
        "enable_monitoring": False,
        "run_history": False,
        "ssr_mode": False,
        # What Gradio's hidden status region announces to screen readers when an event ends: its own
        # locales lack these two keys, so the raw key ("common.complete") had been read aloud. The file
        # drop zone is bilingual like the rest of the page, whatever the browser's language.
        "i18n": gr.I18n(
            en={"common.complete": "Done", "common.error": "Error", **UPLOAD_TEXT},
            ja={"common.complete": "完了 / done", "common.error": "エラー / error", **UPLOAD_TEXT},
        ),
        # The four read-only endpoints as MCP tools for AI assistants; uploads and removals are private
        # UI events and never become tools. Gradio's MCP route does not check the UI's login: with auth
        # set, the guard asks MCP calls for the same credentials (reform_search/guard.py).
        "mcp_server": settings.mcp == "on",
        # Bounds first: a body past its limit is refused before anything reads it (reform_search/bounds.py);
        # the page served Japanese, with the product's title and description (reform_search/web/page.py)
        "app_kwargs": {
            "middleware": [
                Middleware(Bounds, read_only=settings.read_only == "on"),
                Middleware(Guard, credentials=parse_auth(settings.auth)),
                Middleware(JapanesePage),
            ]
        },
    }


def launch(app: gr.Blocks, settings: Settings, **kwargs):
    """Launch the app with `launch_options(settings)` (keyword arguments override them)."""
    return app.launch(**{**launch_options(settings), **kwargs})


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def check_exposure(settings: Settings) -> None:
    """Refuse to serve documents' add and remove to a network without a login."""
    if settings.host not in LOOPBACK and not settings.auth and settings.read_only != "on":
        raise ValueError(
            f"serving on {settings.host} without --auth would let anyone on the network add or remove "
            "documents; set --auth user:password, or --read-only to serve search and compare only"
        )


def check_address(settings: Settings) -> None:
    """Refuse a host this machine cannot serve on, or a port in use, in words (Gradio says "cannot find
    empty port" for both, naming its own environment variable)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            settings.host, settings.port, type=socket.SOCK_STREAM
        )[0]
    except (socket.gaierror, UnicodeError) as e:
        raise ValueError(f"cannot serve on host {settings.host!r}: {getattr(e, 'strerror', e)}") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as e:
            raise ValueError(
                f"cannot serve on {settings.host}:{settings.port}: {e.strerror} (another --port or --host?)"
            ) from None


def serve(settings: Settings) -> None:
    """Bring the index up to date (progress on stderr), load one Searcher and serve the UI until stopped."""
    parse_auth(settings.auth)  # refuse a malformed auth or an open network before the slow part
    check_exposure(settings)
    check_address(settings)
    try:
        report = index_all(settings, progress=tqdm_progress())
        state = "built" if report.changed else "up to date"
        print(f"index {state}: {report.documents} documents, {report.passages} passages", file=sys.stderr)
    except OtherCorpus as e:  # an index copied from the machine that built it: served as it stands
        print(f"serving the index as it stands; {e}", file=sys.stderr)
    searcher = open_searcher(settings)
    if settings.prefault == "on":
        searcher.search("準備", 1, "hybrid")  # loads the model and the tagger: their files are mapped now
        mapped = prefault()
        print(f"model and dictionary mapped into memory: {mapped / 1e6:.0f} MB", file=sys.stderr)
    app = build_app(settings, searcher)
    # stopped by kill, systemd or docker (SIGTERM) as by Ctrl+C: exit handlers run, the downloads go
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    shown = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    print(f"reform-search UI: http://{shown}:{settings.port}/  (Ctrl+C stops it)", file=sys.stderr)
    launch(app, settings, quiet=True)
