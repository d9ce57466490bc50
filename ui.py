"""The web UI of reform-search: `python ui.py` serves it over the default corpus (index built on first run),
taking the options of `reform-search serve` (--port, --host, --auth …).

The app lives in reform_search/web/ (see its opening comment); this module gathers the names a user or
a test reaches for, so that `import ui` gives the whole app.
"""

from __future__ import annotations

from reform_search.web.api import register_api
from reform_search.web.checks import (
    ERROR_PREFIX,
    chosen_cities,
    friendly,
    parse_themes,
    query_text,
    read_upload,
    reported,
)
from reform_search.web.handlers import CONFIRM_S, READ_ONLY, REFRESHED, Handlers
from reform_search.web.layout import build_app, build_blocks, download_buttons, query_box, result_panes
from reform_search.web.server import LOOPBACK, check_exposure, launch, launch_options, parse_auth, serve
from reform_search.web.state import (
    CELL_TOP_K,
    CSS,
    DOWNLOADS,
    JS,
    PRIVATE,
    AppState,
    js_sections,
)

__all__ = [
    "CELL_TOP_K",
    "CONFIRM_S",
    "CSS",
    "DOWNLOADS",
    "ERROR_PREFIX",
    "JS",
    "LOOPBACK",
    "PRIVATE",
    "READ_ONLY",
    "REFRESHED",
    "AppState",
    "Handlers",
    "build_app",
    "build_blocks",
    "check_exposure",
    "chosen_cities",
    "download_buttons",
    "friendly",
    "js_sections",
    "launch",
    "launch_options",
    "parse_auth",
    "parse_themes",
    "query_box",
    "query_text",
    "read_upload",
    "register_api",
    "reported",
    "result_panes",
    "serve",
]

if __name__ == "__main__":  # `python ui.py [--port N] [--host …]`: the options of `reform-search serve`
    import sys

    from reform_search.cli import main

    sys.exit(main(["serve", *sys.argv[1:]]))
