"""The page as served, before any script runs: Japanese (`<html lang="ja">`), with the product's own title
and description in its <title> and meta tags, as ASGI middleware in front of the web app.

Gradio's page template says `lang="en"`, and og:title and twitter:title "Gradio" ("Click to try out the
app!") before its own tags with the app's title: a link shared in a chat, a search engine or a screen
reader that reads the page before its script (ui.js sets lang="ja" only then) met an English Gradio
page. No argument of Gradio 6's Blocks or launch() sets them (`head` goes into the page's config, for
its script to insert), so the served HTML is rewritten.
"""

from __future__ import annotations

import html
import re

from reform_search.guard import Receive, Scope, Send
from reform_search.web.state import TITLE

DESCRIPTION = (
    "自治体の行政改革・構造改革・DXの取組を、各市の報告書から探し、市ごとに並べて比べます。"
    " / Find and compare municipal administrative reform in Japan, offline, in the cities' own reports."
)
# Gradio's own social tags (og:url "{url}" and gradio.app, its header image, @Gradio): all replaced
_SOCIAL = re.compile(r'\s*<meta\s+(?:property="og:|name="twitter:)[^>]*>', re.IGNORECASE)
_LANG = re.compile(r'(<html\b[^>]*?\slang=)"[^"]*"', re.IGNORECASE)
_CHARSET = re.compile(r"<meta\s+charset=[^>]*>", re.IGNORECASE)


def head_tags(title: str = TITLE, description: str = DESCRIPTION) -> str:
    """The page's <title>, description and social tags (Open Graph, Twitter card), escaped."""
    t, d = html.escape(title), html.escape(description)
    return (
        f"\n\t\t<title>{t}</title>"
        f'\n\t\t<meta name="description" content="{d}" />'
        f'\n\t\t<meta property="og:title" content="{t}" />'
        f'\n\t\t<meta property="og:description" content="{d}" />'
        '\n\t\t<meta property="og:type" content="website" />'
        '\n\t\t<meta property="og:locale" content="ja_JP" />'
        '\n\t\t<meta name="twitter:card" content="summary" />'
        f'\n\t\t<meta name="twitter:title" content="{t}" />'
        f'\n\t\t<meta name="twitter:description" content="{d}" />'
    )


def japanese_page(page: str) -> str:
    """Gradio's page with lang="ja" and the product's head tags in place of Gradio's social tags."""
    page = _LANG.sub(r'\1"ja"', page, count=1)
    page = _SOCIAL.sub("", page)
    at = _CHARSET.search(page)
    end = at.end() if at else page.lower().find("<head>") + len("<head>")
    return page[:end] + head_tags() + page[end:]


def _is_page(body: bytes) -> bool:
    """Whether a response's body is Gradio's page (not some other HTML it serves, as an error's)."""
    return body.lstrip()[:15].lower() == b"<!doctype html>" and b"window.gradio_config" in body


class JapanesePage:
    """ASGI middleware: the app's HTML page rewritten by `japanese_page`, its Content-Length to match;
    any other response passes as it is."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "HEAD":
            return await self.app(scope, receive, _unmeasured(send))
        if scope["type"] != "http" or scope.get("method") != "GET":
            return await self.app(scope, receive, send)
        start: dict | None = None
        held: list[bytes] = []

        async def rewritten(message: dict) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                if headers.get(b"content-type", b"").startswith(b"text/html"):
                    start = message  # held until the body is whole
                    return
            if start is None or message["type"] != "http.response.body":
                return await send(message)
            held.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(held)
            if _is_page(body):
                body = japanese_page(body.decode("utf-8")).encode("utf-8")
            headers = [(k, v) for k, v in start.get("headers") or [] if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewritten)


def _unmeasured(send: Send) -> Send:
    """`send` for a HEAD request: an HTML response's headers without their Content-Length, which is that of
    Gradio's page, not of the page a GET gets (the body that would tell it is not made for a HEAD)."""

    async def sent(message: dict) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers") or [])
            if dict(headers).get(b"content-type", b"").startswith(b"text/html"):
                headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
                message = {**message, "headers": headers}
        await send(message)

    return sent
