"""Several local "sites" on loopback addresses that count requests in flight per site.

One HTTP server per address (127.0.0.1, 127.0.0.2, ...), all on one port: to the
monitor each address is a site of its own (its own host, download slot and lease).
Each page's text can be changed between rounds; every request is logged with its
address, path and time, and the most requests ever in flight at once is kept per
address (what the cluster's politeness must bound).
"""

from __future__ import annotations

import socket
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _free_port(hosts: list[str]) -> int:
    for _ in range(50):
        probe = socket.socket()
        probe.bind((hosts[0], 0))
        port = int(probe.getsockname()[1])
        probe.close()
        try:
            for host in hosts[1:]:
                other = socket.socket()
                other.bind((host, port))
                other.close()
        except OSError:
            continue
        return port
    raise RuntimeError("no port free on every address")


class CountingSites:
    """Pages ``/p/<n>`` on every address, each answering after ``delay`` seconds."""

    def __init__(self, hosts: list[str], pages: int, delay: float = 0.0) -> None:
        self.hosts, self.pages, self.delay = hosts, pages, delay
        self.lock = threading.Lock()
        self.in_flight: dict[str, int] = defaultdict(int)
        self.max_in_flight: dict[str, int] = defaultdict(int)
        self.hits: list[tuple[str, str, float]] = []  # (host, path, time.time())
        self.edits: dict[tuple[str, str], str] = {}
        self.robots = "User-agent: *\nAllow: /\n"
        sites = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                host = self.connection.getsockname()[0]
                with sites.lock:
                    sites.in_flight[host] += 1
                    sites.max_in_flight[host] = max(
                        sites.max_in_flight[host], sites.in_flight[host]
                    )
                    sites.hits.append((host, self.path, time.time()))
                answered = False
                try:
                    if sites.delay:
                        time.sleep(sites.delay)
                    status, body = sites.answer(host, self.path)
                    data = body.encode("utf-8")
                    self.send_response(status)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    # Out of flight before the last bytes leave: once the client has the
                    # answer it may send the next request, and on a loaded machine this
                    # thread can be descheduled between the write and the count.
                    with sites.lock:
                        sites.in_flight[host] -= 1
                    answered = True
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    if not answered:
                        with sites.lock:
                            sites.in_flight[host] -= 1

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

            def handle_error(self, request: object, client_address: object) -> None:
                pass

        self.port = _free_port(hosts)
        self.servers = [Server((host, self.port), Handler) for host in hosts]
        self.threads = [
            threading.Thread(target=server.serve_forever, daemon=True) for server in self.servers
        ]

    def answer(self, host: str, path: str) -> tuple[int, str]:
        if path == "/robots.txt":
            return 200, self.robots
        if not path.startswith("/p/"):
            return 404, "<html><title>Not found</title><h1>Not Found</h1></html>"
        extra = self.edits.get((host, path), "")
        number = path.rsplit("/", 1)[1]
        return 200, (
            f"<html><head><title>Statement {number} on {host}</title></head><body>"
            f"<main><h1>Statement {number}</h1>"
            f"<p>The ministry on {host} published statement number {number} today.</p>"
            f"<p>It concerns the relations between the two countries, item {number}.</p>"
            f"{extra}</main></body></html>"
        )

    def url(self, host: str, number: int) -> str:
        return f"http://{host}:{self.port}/p/{number}"

    def edit(self, host: str, number: int, text: str) -> None:
        self.edits[(host, f"/p/{number}")] = f"<p>{text}</p>"

    def start(self) -> CountingSites:
        for thread in self.threads:
            thread.start()
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()
