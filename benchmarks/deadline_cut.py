"""What cutting a request at its deadline costs (decision 0106): `bounded_request` on a
`watched` session (a timer per request that can shut its socket down) vs the plain
`session.request` + `read_body` it replaced, against a loopback server answering a
small JSON body, kept-alive connections, alternating rounds in one run.

    .venv/bin/python benchmarks/deadline_cut.py [--requests 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from kiosk.runtime.bounded_http import bounded_request, deadline_in, read_body
from kiosk.runtime.hard_deadline import watched


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        body = b'{"resourceType": "Patient", "id": "p1"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/Patient/p1"
    plain, cut = requests.Session(), watched(requests.Session())

    def before() -> None:
        response = plain.request("GET", url, stream=True, timeout=5)
        read_body(response, limit=1 << 20, deadline=deadline_in(5))

    def after() -> None:
        bounded_request(cut, "GET", url, limit=1 << 20, deadline=deadline_in(5), timeout=5)

    runs: dict[str, Callable[[], None]] = {"plain request + read_body": before,
                                           "bounded_request (cut at deadline)": after}
    results: dict[str, list[float]] = {name: [] for name in runs}
    for fn in runs.values():
        fn()  # connect once: the rounds measure kept-alive requests
    for _ in range(args.rounds):
        for name, fn in runs.items():
            start = time.perf_counter()
            for _ in range(args.requests):
                fn()
            results[name].append((time.perf_counter() - start) / args.requests * 1e6)
    server.shutdown()
    print(f"{args.requests} loopback GETs per round, {args.rounds} rounds, µs per request")
    for name, samples in results.items():
        print(f"  {name:36s} median {statistics.median(samples):7.0f}   "
              f"rounds {', '.join(f'{s:.0f}' for s in samples)}")
    medians = [statistics.median(s) for s in results.values()]
    print(f"  cost of the cut: {medians[1] - medians[0]:+.0f} µs per request "
          f"({medians[1] / medians[0] - 1:+.0%})")


if __name__ == "__main__":
    main()
