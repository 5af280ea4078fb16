"""A WSGI app served over real HTTP for one test: 127.0.0.1, a free port (or the one given), a thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from werkzeug.serving import make_server


@contextmanager
def serving(app: Flask, port: int = 0) -> Iterator[str]:
    """Serve `app` until the block ends; yields its base URL.

    Give `port` when the URL must be known before the app runs (e.g. written into a federation config);
    the app then listens on 127.0.0.1 and is addressed as `localhost`, another site than the hub's."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=f"serving-{server.server_port}", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
