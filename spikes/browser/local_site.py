"""A local site for the browser and proxy spikes (stdlib, 127.0.0.1, a thread).

Paths:
  /js/N        a skeleton whose statement is inserted by JavaScript after ``delay`` ms
               (query ``?delay=300``); the raw HTML has no statement text
  /never       a skeleton whose script never inserts anything (for the wait timeout)
  /plain/N     the same statement in plain HTML
  /echo        JSON of the request line and headers it received

Every request is recorded (method, path, headers) in ``Site.seen``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SKELETON = """<!doctype html><html><head><meta charset=utf-8><title>Statement {n}</title>
<script>
setTimeout(function () {{
  var a = document.createElement('article');
  a.className = 'statement';
  a.innerHTML = '<h1>Statement {n}</h1><p>The Ministry confirms the text of statement {n}.'
    + ' Министерство подтверждает текст заявления {n}.</p>';
  document.getElementById('content').appendChild(a);
}}, {delay});
</script></head>
<body><header>Ministry</header><div id="content"></div><footer>(c)</footer></body></html>"""

NEVER = """<!doctype html><html><head><title>never</title></head>
<body><div id="content"></div>
<script>/* the data request never comes back */</script></body></html>"""

PLAIN = """<!doctype html><html><head><meta charset=utf-8><title>Statement {n}</title></head>
<body><article class="statement"><h1>Statement {n}</h1><p>The Ministry confirms the text
of statement {n}.</p></article></body></html>"""


class Site:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                with site._lock:
                    site.seen.append(
                        {"method": "GET", "path": self.path, "headers": dict(self.headers)}
                    )
                query = parse_qs(parts.query)
                if parts.path.startswith("/js/"):
                    delay = int(query.get("delay", ["300"])[0])
                    body = SKELETON.format(n=parts.path.rsplit("/", 1)[1], delay=delay)
                    self._send(200, "text/html; charset=utf-8", body.encode())
                elif parts.path == "/never":
                    self._send(200, "text/html; charset=utf-8", NEVER.encode())
                elif parts.path.startswith("/plain/"):
                    body = PLAIN.format(n=parts.path.rsplit("/", 1)[1])
                    self._send(200, "text/html; charset=utf-8", body.encode())
                elif parts.path == "/echo":
                    body = json.dumps({"path": self.path, "headers": dict(self.headers)})
                    self._send(200, "application/json", body.encode())
                else:
                    self._send(404, "text/plain", b"not found")

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Site:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
