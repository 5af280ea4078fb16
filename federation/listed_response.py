"""Responses handed to the WSGI server as a list of bytes when their body is already in memory.

granian sends a list body in one call; any other iterable it drives from Rust one item at a time, taking
the GIL for each step and again for `close()`, which costs about 40 µs of CPU a response. A Flask response
built from a string or bytes (a page, JSON, a redirect) is already a list: `ListedResponse` gives it to
the server as a list, and closes it at once, which for such a response does nothing. A response with a
stream, a file, `direct_passthrough` or a function to call on close goes the usual way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Flask
from flask import Response as FlaskResponse


def listed(response_class: type[FlaskResponse]) -> type[FlaskResponse]:
    """`response_class` with buffered bodies handed over as a list."""

    class ListedResponse(response_class):  # type: ignore[valid-type, misc]
        def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            if self._on_close or self.direct_passthrough or not self.is_sequence:
                return super().__call__(environ, start_response)
            app_iter, status, headers = self.get_wsgi_response(environ)
            start_response(status, headers)
            try:
                return list(app_iter)
            finally:
                app_iter.close()  # Response.close: nothing to close for a list without on-close functions

    ListedResponse.__name__ = ListedResponse.__qualname__ = f"Listed{response_class.__name__}"
    return ListedResponse


def hand_over_lists(app: Flask) -> None:
    """Make `app`'s responses (the ones it builds: views' return values, redirects, JSON) listed."""
    app.response_class = listed(app.response_class)
