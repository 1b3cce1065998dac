"""A WSGI app for the worker tests: answers, after a short pause, with its process id."""

from __future__ import annotations

import os
import time


def app(environ, start_response):
    time.sleep(0.05)
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
