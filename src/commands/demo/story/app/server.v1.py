"""orders-api: a deliberately small HTTP service."""
import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

from app import db

VERSION = os.environ.get("GIT_SHA", "dev")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            return self.reply(200, {"ok": True})
        if self.path == "/version":
            return self.reply(200, {"version": VERSION})
        if self.path.startswith("/api/orders/"):
            order = db.find_order(self.path.rsplit("/", 1)[-1])
            return self.reply(200 if order else 404, order or {"error": "not found"})
        if self.path == "/":
            return self.reply(200, {"service": "orders-api", "orders": db.count_orders()})
        return self.reply(404, {"error": "not found"})

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())


if __name__ == "__main__":
    HTTPServer(("", 8080), Handler).serve_forever()
