"""A local HTTP server that plays KoboToolbox's data API v2, for the pull's tests.

What it plays, as KoboToolbox documents it: `GET /api/v2/assets/<uid>/data/` with
`Authorization: Token <token>` (401 otherwise), `limit` and `start` paging with absolute
`next` / `previous` links, `count` of the submissions the query matches, `query` (MongoDB
syntax; `_id` with `$gt` here) and `sort` on `_id`. Failures can be scripted: answers to give
before the real one (429 with Retry-After, 5xx), or a page after which every answer is 500
(an outage in the middle of a pull). It listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ASSET = "aLaoFmsAsset2026"
TOKEN = "test-token-0123456789abcdef"


@dataclass
class KoboApi:
    submissions: list[dict[str, Any]] = field(default_factory=list)
    # (status, headers) answered, in order, before serving requests normally
    scripted: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    fail_after_pages: int | None = None  # pages served before every answer becomes 500
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, auth header)
    pages_served: int = 0
    url: str = ""

    def add(self, *submissions: dict[str, Any]) -> None:
        self.submissions.extend(submissions)

    def answer(self, path: str, authorization: str | None) -> tuple[int, dict[str, str], bytes]:
        self.requests.append((path, authorization))
        if authorization != f"Token {TOKEN}":
            return 401, {}, b'{"detail": "Invalid token."}'
        if self.scripted:
            status, headers = self.scripted.pop(0)
            return status, headers, b'{"detail": "scripted failure"}'
        if self.fail_after_pages is not None and self.pages_served >= self.fail_after_pages:
            return 500, {}, b"Internal Server Error"
        parts = urllib.parse.urlsplit(path)
        if parts.path != f"/api/v2/assets/{ASSET}/data/":
            return 404, {}, b'{"detail": "Not found."}'
        self.pages_served += 1
        return 200, {"Content-Type": "application/json"}, self._page(parts.query)

    def _page(self, query_string: str) -> bytes:
        query = dict(urllib.parse.parse_qsl(query_string))
        limit, start = int(query.get("limit", 100)), int(query.get("start", 0))
        matching = sorted(self.submissions, key=lambda s: s["_id"])
        if "query" in query:
            after = json.loads(query["query"])["_id"]["$gt"]
            matching = [s for s in matching if s["_id"] > after]

        def link(offset: int) -> str:
            return f"{self.url}/api/v2/assets/{ASSET}/data/?" + urllib.parse.urlencode(
                {**query, "start": offset}
            )

        page = {
            "count": len(matching),
            "next": link(start + limit) if start + limit < len(matching) else None,
            "previous": link(max(start - limit, 0)) if start else None,
            "results": matching[start : start + limit],
        }
        return json.dumps(page, ensure_ascii=False).encode()


@contextmanager
def kobo_api(api: KoboApi | None = None) -> Iterator[KoboApi]:
    api = api or KoboApi()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            status, headers, body = api.answer(self.path, self.headers.get("Authorization"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
