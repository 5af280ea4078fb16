"""In a real Chromium: the CSP lets the pages' scripts run, SAML forms auto-submit with JavaScript and
submit with the Continue button without it. Skips when Chromium is not installed (`make browser-packages`)."""

from __future__ import annotations

import shutil
import threading

import pytest
from flask import jsonify, render_template, request
from werkzeug.serving import make_server

from federation.web import static_folder

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium")
HOSTILE_RELAY_STATE = '"><script>window.pwned=1</script>'


@pytest.fixture
def server(make_web_app):
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (make browser-packages)")
    app = make_web_app()

    @app.post("/receive")
    def receive():
        return jsonify(dict(request.form))

    @app.get("/post")
    def post():
        return render_template(
            "response_to_rp.html",
            action="/receive",
            saml_response="UkVTUE9OU0U=",
            relay_state=HOSTILE_RELAY_STATE,
            rp_name="Test service",
        )

    httpd = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join()


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.mark.parametrize("javascript", [True, False])
def test_saml_post_form_reaches_its_destination(server, browser, javascript):
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    page.goto(f"{server}/post")
    if not javascript:
        page.click("#saml-continue")
    page.wait_for_url(f"{server}/receive")
    assert page.evaluate("JSON.parse(document.body.innerText)") == {
        "SAMLResponse": "UkVTUE9OU0U=",
        "RelayState": HOSTILE_RELAY_STATE,
    }
    context.close()


def test_page_scripts_run_under_the_csp(server, browser):
    if not (static_folder() / "govuk-frontend.min.js").exists():
        pytest.skip("run `make assets` to build hub/static/govuk")
    context = browser.new_context()
    page = context.new_page()
    violations = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.goto(f"{server}/page/start.html?error=1&lang=cy")
    page.wait_for_load_state("networkidle")
    classes = page.evaluate("document.body.className").split()
    assert "js-enabled" in classes and "govuk-frontend-supported" in classes
    # GOV.UK Frontend's JavaScript initialised the error summary (it focuses it on load)
    page.wait_for_function("document.activeElement.classList.contains('govuk-error-summary')")
    assert violations == []
    context.close()
