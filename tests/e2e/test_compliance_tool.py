"""`federation check-idp` and `federation check-service` against the federation on free ports: the stub IDPs
and the example service pass; deliberately broken ones fail, each with the message that says what to fix."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from federation.cli import main
from federation.compliance.http import Answer, Browser, forms
from federation.compliance.hub_role import load_hub_role
from federation.compliance.idp_check import ANSWERS, AnswerHook, SavedAnswers, check_idp, prepare_saved_answers
from federation.compliance.report import Verdict
from federation.compliance.service_check import check_service
from tests.e2e.broken_parties import broken_idp_app, broken_service_app
from tests.hostile.forge import make_forge
from tests.support.serving import serving


@pytest.fixture
def environ(federation, keys_dir):
    """The operator's environment: the federation's URLs and the hub's keys (the demo config by default)."""
    return {**federation.urls, "FEDERATION_KEYS_DIR": str(keys_dir)}


@pytest.fixture
def operator(monkeypatch, environ):
    """The same environment for `main`, which reads the process environment."""
    monkeypatch.delenv("FEDERATION_CONFIG", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)


def by_scenario(report) -> dict:
    return {row.scenario: row for row in report.rows}


def hook(role, idp):
    return AnswerHook(idp.sso_url + "/headless", "alice", role.config.hub.response_url)


# --- the stub IDPs and the example service pass ---------------------------------------------------------------


@pytest.mark.parametrize("idp_name", ["stub-idp-one", "stub-idp-two", "stub-idp-three"])
def test_every_stub_idp_passes(environ, idp_name):
    role = load_hub_role(environ)
    idp = role.identity_provider(idp_name)
    report = check_idp(role, idp, hook(role, idp))
    assert report.ok, [row for row in report.rows if row.verdict is not Verdict.PASS]
    rows = by_scenario(report)
    assert {row.verdict for row in report.rows} == {Verdict.PASS}
    assert len(rows) == 8 + len(ANSWERS)
    assert rows["request-replayed"].happened == "refused (HTTP 400)"
    assert rows["success"].happened.startswith("accepted by the hub's checks: success at LEVEL_")
    assert rows["fraud-DF01"].happened == "accepted by the hub's checks: fraud DF01"


def test_check_idp_prints_the_table_writes_the_report_and_exits_0(operator, capsys, tmp_path):
    report = tmp_path / "stub-idp-two.md"
    assert main(["check-idp", "stub-idp-two", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("check-idp stub-idp-two\n")
    assert "scenario" in out and "what to fix" in out and "PASSED: 16 passed, 0 failed, 0 skipped" in out
    text = report.read_text()
    assert text.startswith("# Compliance report: check-idp stub-idp-two")
    assert "Result: **passed**" in text and "| success | " in text and "## What to fix" not in text


@pytest.mark.parametrize("service", ["test-rp", "test-rp-non-matching", "test-rp-new-accounts", "test-rp-standard"])
def test_the_example_service_passes(environ, service):
    role = load_hub_role(environ)
    report = check_service(role, role.relying_party(service))
    assert report.ok and all(row.verdict is Verdict.PASS for row in report.rows), report.rows
    rows = by_scenario(report)
    assert rows["success"].happened.startswith("accepted (HTTP 303 to ")
    for refused in (
        "bad-signature",
        "wrong-audience",
        "wrong-destination",
        "expired",
        "replayed",
        "wrong-in-response-to",
    ):
        assert rows[refused].happened == "refused (HTTP 400)", rows[refused]
    assert ("no-match" in rows) is (service not in ("test-rp-non-matching", "test-rp-standard"))


def test_without_the_assertion_key_the_bad_responses_are_cancels(environ):
    """The operator may not hold the department's matching service key: what needs it is skipped, the rest
    is still checked, with cancels."""
    role = load_hub_role(environ)
    report = check_service(role, role.relying_party("test-rp"), assertion_key="not-in-the-keys-directory")
    rows = by_scenario(report)
    assert report.ok
    assert rows["success"].verdict is Verdict.SKIP and rows["wrong-audience"].verdict is Verdict.SKIP
    assert rows["success"].happened.startswith("needs its matching service's signing key in ")
    for name in ("bad-signature", "wrong-destination", "expired", "wrong-in-response-to", "replayed"):
        assert rows[name].verdict is Verdict.PASS and rows[name].happened == "refused (HTTP 400)", rows[name]
    assert rows["bad-signature"].expected == "refused: A cancel changed after the hub signed it"
    assert rows["replayed"].expected == "refused: the accepted cancel Response again"


def test_check_service_exits_0_for_the_example_service(operator, capsys):
    assert main(["check-service", "https://test-rp.federation.test"]) == 0
    assert "PASSED: 12 passed, 0 failed, 0 skipped" in capsys.readouterr().out


# --- deliberately broken parties fail with the right message ---------------------------------------------------


def test_a_broken_idp_fails_naming_what_to_fix(environ, federation, keys_dir, tmp_path):
    forge = make_forge(keys_dir, federation)
    with serving(broken_idp_app(forge)) as url:
        role = load_hub_role({**environ, "IDP_URL": url})
        idp = role.identity_provider("stub-idp-two")
        report = check_idp(role, idp, hook(role, idp))
    rows = by_scenario(report)
    assert not report.ok
    assert rows["request-valid"].verdict is Verdict.PASS
    unsigned = rows["request-unsigned"]
    assert (unsigned.verdict, unsigned.happened) == (Verdict.FAIL, "accepted (HTTP 200)")
    assert unsigned.fix.startswith("refuse an AuthnRequest no signature: verify it as docs/idp-profile.md says")
    for name in ("request-expired", "request-replayed", "request-wrong-destination", "request-unknown-issuer"):
        assert rows[name].verdict is Verdict.FAIL
    success = rows["success"]
    assert success.verdict is Verdict.FAIL
    assert success.happened == (
        "refused: bad-attribute-type:MDS_dateofbirth (expected xsi:type ida:DateType, got no xsi:type)"
    )
    assert "declare the profile's xsi:type on every MDS value" in success.fix
    assert rows["cancel"].verdict is Verdict.PASS
    pending = rows["pending"]
    assert pending.verdict is Verdict.FAIL
    assert pending.happened == "cancel (Responder / NoAuthnContext, StatusDetail authn-cancel)"
    assert pending.fix == "for pending send Responder / NoAuthnContext, StatusDetail loa-pending"


def test_check_idp_exits_1_and_the_report_lists_what_to_fix(
    operator, monkeypatch, federation, keys_dir, capsys, tmp_path
):
    forge = make_forge(keys_dir, federation)
    with serving(broken_idp_app(forge)) as url:
        monkeypatch.setenv("IDP_URL", url)
        assert main(["check-idp", "stub-idp-two", "--report", str(tmp_path / "r.md")]) == 1
    out = capsys.readouterr().out
    assert "FAILED: " in out and "bad-attribute-type:MDS_dateofbirth" in out
    text = (tmp_path / "r.md").read_text()
    assert "Result: **failed**" in text and "## What to fix" in text
    assert "- **success**: declare the profile's xsi:type on every MDS value" in text


def test_a_broken_service_fails_naming_what_to_fix(environ, federation, keys_dir):
    forge = make_forge(keys_dir, federation)
    with serving(broken_service_app(forge)) as url:
        role = load_hub_role({**environ, "RP_URL": url})
        report = check_service(role, role.relying_party("test-rp"))
    rows = by_scenario(report)
    assert rows["authn-request"].verdict is Verdict.PASS and rows["success"].verdict is Verdict.PASS
    bad_signature = rows["bad-signature"]
    assert bad_signature.verdict is Verdict.FAIL
    assert bad_signature.happened == "accepted (HTTP 303 to /signed-in, then HTTP 200)"
    assert bad_signature.fix.startswith("verify the Response's signature with the hub's signing certificates")
    for name in ("wrong-audience", "wrong-destination", "expired", "replayed", "wrong-in-response-to"):
        assert rows[name].verdict is Verdict.FAIL, rows[name]
    assert rows["replayed"].fix.startswith("accept each Response once")


def test_a_sign_in_started_with_the_redirect_binding_is_read_as_the_hub_reads_it(environ, federation, keys_dir):
    forge = make_forge(keys_dir, federation)
    with serving(broken_service_app(forge, redirect_binding=True)) as url:
        role = load_hub_role({**environ, "RP_URL": url})
        report = check_service(role, role.relying_party("test-rp"))
    rows = by_scenario(report)
    assert rows["authn-request"].verdict is Verdict.PASS, rows["authn-request"]
    assert rows["success"].verdict is Verdict.PASS and rows["bad-signature"].verdict is Verdict.FAIL


def test_a_service_whose_request_the_hub_would_refuse(environ, federation, keys_dir, tmp_path):
    """The service signs its AuthnRequest with a key the federation config does not list for it."""
    forge = make_forge(keys_dir, federation)
    with serving(broken_service_app(forge, rp_name="test-rp", signing_key="stub-idp-one")) as url:
        role = load_hub_role({**environ, "RP_URL": url})
        report = check_service(role, role.relying_party("test-rp"))
    first = report.rows[0]
    assert (first.scenario, first.verdict) == ("authn-request", Verdict.FAIL)
    assert first.happened.startswith("refused: signature-invalid:samlp:AuthnRequest")
    assert all(row.verdict is Verdict.SKIP for row in report.rows[1:])


# --- Responses a tester saved ---------------------------------------------------------------------------------------


def _answer_like_a_tester(page_path, idp, outcome: str) -> bytes:
    """Open the request page, 'do the scenario' (the stub's hook stands in for the tester at the IDP), and
    keep the SAMLResponse the IDP posts to the hub."""
    page = Answer(page_path.as_uri(), 200, page_path.read_text(), None)
    request_form = forms(page)[0]
    fields = {**request_form.fields, "outcome": outcome, "username": "alice"}
    answer = Browser().post(idp.sso_url + "/headless", fields, cross_site=True)
    return next(form for form in forms(answer) if "SAMLResponse" in form.fields).fields["SAMLResponse"].encode()


def test_saved_responses_are_checked_against_the_requests_prepared(environ, tmp_path):
    role = load_hub_role(environ)
    idp = role.identity_provider("stub-idp-three")
    written = prepare_saved_answers(role, idp, tmp_path, datetime.now(UTC))
    assert {path.name for path in written} == {f"{s.name}.html" for s in ANSWERS} | {"requests.json"}
    for scenario in ANSWERS[:-1]:  # the tester did every scenario but fraud
        (tmp_path / f"{scenario.name}.saml").write_bytes(
            _answer_like_a_tester(tmp_path / f"{scenario.name}.html", idp, scenario.name)
        )
    report = check_idp(role, idp, SavedAnswers(tmp_path))
    rows = by_scenario(report)
    assert report.ok
    assert all(rows[s.name].verdict is Verdict.PASS for s in ANSWERS[:-1])
    assert (
        rows["fraud-DF01"].verdict is Verdict.SKIP
        and rows["fraud-DF01"].happened == "no saved Response fraud-DF01.saml"
    )
    # A Response saved under the wrong scenario answers another request: the hub's own words say so.
    (tmp_path / "cancel.saml").write_bytes((tmp_path / "pending.saml").read_bytes())
    rows = by_scenario(check_idp(role, idp, SavedAnswers(tmp_path)))
    assert rows["cancel"].verdict is Verdict.FAIL
    assert rows["cancel"].happened.startswith("refused: wrong-in-response-to:")


def test_an_unknown_idp_or_service_is_a_one_line_error(operator, capsys):
    assert main(["check-idp", "nobody"]) == 2
    err = capsys.readouterr().err
    assert "check-idp: no identity provider 'nobody'" in err and "known: stub-idp-one, stub-idp-two" in err
    assert main(["check-service", "nobody"]) == 2
    assert "no service 'nobody'" in capsys.readouterr().err
