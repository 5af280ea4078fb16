"""Per-page render CPU of the citizen pages (the hub's journey templates on the shared GOV.UK layout).

Run with `python -m tests.bench.page_render_bench [--renders N]`. Each template is rendered N times in a
request context as the hub's views render it (same layout, service pages in the footer, both languages),
and the median CPU per render (time.process_time) of five rounds is printed with the page size. It prints
figures and asserts nothing about them.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from flask import Flask, render_template

from federation.config import DEMO_OPERATOR
from federation.web.service_pages import LANGUAGE_COOKIE, FeedbackLog, ServicePages
from tests.unit.web.conftest import SAMPLES, make_app

ROUNDS = 5


def bench_app(var_dir: Path) -> Flask:
    pages = ServicePages(
        operator=DEMO_OPERATOR, cookies=(LANGUAGE_COOKIE,), feedback=FeedbackLog(var_dir / "f.jsonl", app="hub")
    )
    return make_app(pages=pages)


def cpu_per_render(app: Flask, template: str, lang: str, method: str, renders: int) -> tuple[float, int]:
    """Median CPU milliseconds per render over ROUNDS rounds, and the page's size in bytes."""
    timings = []
    size = 0
    for _ in range(ROUNDS):
        with app.test_request_context(f"/page/{template}?lang={lang}", method=method):
            app.preprocess_request()
            start = time.process_time()
            for _ in range(renders):
                html = render_template(template, **SAMPLES[template])
            timings.append((time.process_time() - start) * 1000 / renders)
            size = len(html.encode("utf-8"))
    return statistics.median(timings), size


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=200, help="renders per round (default 200)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as var_dir:
        app = bench_app(Path(var_dir))
        print(f"{'template':<28} {'lang':<4} {'method':<6} {'CPU ms/render':>14} {'bytes':>7}")
        for template in SAMPLES:
            for lang in ("en", "cy"):
                method = "POST" if template in ("redirect_to_idp.html", "response_to_rp.html") else "GET"
                cpu, size = cpu_per_render(app, template, lang, method, args.renders)
                print(f"{template:<28} {lang:<4} {method:<6} {cpu:>14.3f} {size:>7}")


if __name__ == "__main__":
    main()
