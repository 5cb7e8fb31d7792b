#!/usr/bin/python3
"""A fake HTTP server for testing the WHIP/WHEP clients without nginx.

    fake_http.py --port 8080 [--status 415] [--body TEXT]
                 [--location /whip/x/0123] [--answer FILE] [--seconds 30]

Answers every request with --status (default 404) and --body; for a POST
with --status 201 it adds the Location header and, with --answer, that
file as the body. Prints one JSON line per request on stdout:
{"method":..,"path":..,"headers":{..},"body":..}. Exits after --seconds.
"""

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--status", type=int, default=404)
    p.add_argument("--body", default="not found\n")
    p.add_argument("--location", default="/whip/test/0123456789abcdef0123456789abcdef")
    p.add_argument("--answer")
    p.add_argument("--seconds", type=float, default=30)
    a = p.parse_args()

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def handle_any(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
            sys.stdout.write(json.dumps({
                "method": self.command, "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body}) + "\n")
            sys.stdout.flush()

            status, out, hdrs = a.status, a.body, []
            if self.command == "POST" and status == 201:
                hdrs.append(("Location", a.location))
                hdrs.append(("Content-Type", "application/sdp"))
                if a.answer:
                    with open(a.answer) as f:
                        out = f.read()
            elif self.command == "DELETE" and status == 201:
                status, out = 200, ""
            data = out.encode()
            self.send_response(status)
            for k, v in hdrs:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = \
            handle_any

    srv = ThreadingHTTPServer(("127.0.0.1", a.port), H)
    threading.Timer(a.seconds, srv.shutdown).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
