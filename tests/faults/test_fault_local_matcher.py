"""The local matcher gone, or the matching service holding a token the matcher does not: the citizen gets the
"could not check your records" page (502), nobody is matched, and each side's log says what happened.

The real federation with the local matcher as a process of its own (as a department's own matcher runs); the
matching service is restarted with a wrong token, then with the right one again, so the same journey is
shown to work once the credential is right.
"""

from __future__ import annotations

import secrets

import pytest

from tests.e2e.journey import IDP_TWO, at_idp_headless, choose, expected_hashed_pid, sign_in, start_at_service
from tests.faults.faults_support import log_text, running_federation, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def federation(keys_dir, tmp_path_factory):
    directory = tmp_path_factory.mktemp("local-matcher-faults")
    with running_federation(directory, keys_dir, separate_local_matcher=True) as running:
        yield running


def _to_matching(browser, federation, username: str = "alice"):
    page = start_at_service(browser, federation)
    page = choose(browser, page, IDP_TWO)
    return at_idp_headless(browser, page, username)


def test_a_matching_service_holding_another_token_matches_nobody(federation, browser):
    ms_log, matcher_log = len(log_text(federation, "matching_service")), len(log_text(federation, "local_matcher"))
    federation.stop("matching_service")
    federation.start("matching_service", extra_env={"LOCAL_MATCHING_TOKEN": secrets.token_urlsafe(32)})
    try:
        page = _to_matching(browser, federation)
        assert page.status == 502, (page.status, page.heading)
        assert "could not check your records" in page.heading
        assert wait_for(
            lambda: "local matcher refused our credential" in log_text(federation, "matching_service")[ms_log:]
        )
        assert wait_for(
            lambda: "local matcher call refused: wrong-token" in log_text(federation, "local_matcher")[matcher_log:]
        )
    finally:
        federation.stop("matching_service")
        federation.start("matching_service")
    page = sign_in(browser, federation, "alice", IDP_TWO)  # the same journey, with the launcher's token
    assert expected_hashed_pid("stub-idp-two", "alice") in page.text


def test_the_local_matcher_down_is_a_502_not_a_no_match(federation, browser):
    federation.stop("local_matcher")
    try:
        page = _to_matching(browser, federation, "tom")
        assert page.status == 502, (page.status, page.heading)
        assert "could not check your records" in page.heading
        assert wait_for(lambda: "local matcher unreachable" in log_text(federation, "matching_service"))
    finally:
        federation.start("local_matcher")
    page = sign_in(browser, federation, "tom", IDP_TWO)
    assert expected_hashed_pid("stub-idp-two", "tom") in page.text
