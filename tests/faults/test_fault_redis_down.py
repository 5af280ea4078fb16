"""Redis goes away under a running hub: the citizen gets "service unavailable, try again" (503), nothing
crashes, the health check says "degraded", and when Redis is back the hub serves new journeys by itself.

The Redis here is a private redis-server that saves nothing, so the sessions it held are gone after the
restart: the citizen whose journey was in flight starts again (the "session not found" page, then the
service). That is expected of a Redis without persistence; a production Redis would use replicas.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.journey import sign_in, start_at_service
from tests.faults.faults_support import health, log_text, running_federation, shared_hub_env

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def federation(private_redis, keys_dir, tmp_path_factory):
    with running_federation(
        tmp_path_factory.mktemp("redis-down"), keys_dir, REDIS_URL=private_redis.url, **shared_hub_env()
    ) as running:
        yield running


def test_redis_outage_gives_503_and_the_hub_recovers(federation, private_redis, browser):
    hub = federation.url("hub")
    assert health(hub) == {"status": "ok"}
    page = start_at_service(browser, federation)  # the session now lives in the private Redis

    private_redis.kill()
    answered = browser.submit(page, page.form(), {"verified_before": "yes"})
    assert answered.status == 503, (answered.status, answered.heading)
    assert answered.heading == "Sorry, the service is unavailable"
    assert "Try again" in answered.text
    assert answered.link("Try again") == hub + "/start", "back to the step's page (a GET), never a replayed POST"
    error_id = answered.doc.xpath("string(//p[@id='error-id'])").rsplit(" ", 1)[-1]
    assert re.fullmatch(r"[0-9a-f]{16,32}", error_id), error_id  # the request ID every log line of it carries
    assert f"server error 503: POST /start (error ID {error_id})" in log_text(federation, "hub")
    assert "store unavailable: redis load failed: ConnectionError" in log_text(federation, "hub")
    assert health(hub) == {"status": "degraded", "store": "unavailable"}

    # a service sending a new citizen meanwhile: the same page, from the SSO endpoint
    rp_page = browser.get(federation.urls["RP_URL"] + "/")
    rp_page = browser.submit(rp_page, rp_page.form(button="Prove your identity"))
    refused = browser.auto_submit(rp_page)
    assert refused.status == 503 and refused.heading == "Sorry, the service is unavailable"
    again = refused.form(button="Try again")  # the service's request, posted again by the citizen's click
    assert again.get("action") == "/SAML2/SSO" and again.xpath(".//input[@name='SAMLRequest']")
    assert federation.processes["hub"].poll() is None, "the hub process must survive the outage"
    assert "Traceback" not in log_text(federation, "hub")

    private_redis.start()  # same port, empty: it saved nothing
    assert health(hub) == {"status": "ok"}
    lost = browser.submit(page, page.form(), {"verified_before": "yes"})
    assert lost.status == 400 and "could not find your session" in lost.heading, lost.heading

    started = browser.submit(refused, again)  # the same AuthnRequest, now taken in
    assert started.status == 200 and started.url.endswith("/start"), (started.status, started.heading)

    signed_in = sign_in(browser, federation, "alice")
    assert "signed in" in signed_in.text.lower(), signed_in.heading
