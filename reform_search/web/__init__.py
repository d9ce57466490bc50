"""The web UI (Gradio): compare cities side by side, search, the theme × city matrix, manage the corpus.

    serve(settings)                 index if needed, load one Searcher, launch on settings.host:port
    build_app(settings, searcher)   the gr.Blocks (tests build it around a prepared index)

Gradio wiring only, one room per concern: state.py (the loaded Searcher, swapped after a rebuild here or
outside the app, the indexing lock, downloads, static files), checks.py (input and refusals),
handlers.py (what events do), layout.py (the tabs and their events), api.py (the public endpoints, also
MCP tools), server.py (launching). The HTML comes from reform_search/render.py, the CSS and JavaScript
from reform_search/static/; ranking, labels and counterparts all come from the library; nothing here
ranks. The top-level ui.py is this package's face for `python ui.py` and for tests.
"""

import os

# Before gradio is imported: no version check or telemetry, ever.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
