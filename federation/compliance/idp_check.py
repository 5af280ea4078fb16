"""`federation check-idp`: an identity provider's SSO endpoint and answers, checked as the hub would.

Two parts:

* requests: the tool, as the hub, posts a correct AuthnRequest to the IDP's SSO URL, then broken ones
  (changed after signing, signed with another key, unsigned, for another Destination, an hour old, from an
  unknown issuer, the correct one again). The IDP must accept the first (any 2xx or 3xx) and refuse every
  other one with a 4xx status.
* answers: for each answer scenario (success, cancel, pending, authentication failed, uplift failed,
  requester error, request denied, fraud) the IDP's Response to a fresh request of the tool's is read with
  `federation.saml.idp_response`, the hub's own reading, and must mean what the scenario asks for. The
  Responses come from the IDP's test hook (`AnswerHook`) or from files a tester saved (`SavedAnswers`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

from lxml import etree

from federation import xmlsecurity
from federation.compliance.http import Answer, Browser, Unreachable, forms
from federation.compliance.hub_role import HubRole
from federation.compliance.idp_fixes import fix_for
from federation.compliance.report import Report, Row, failed, passed, skipped
from federation.config import IdentityProvider
from federation.credentials import SigningCredential, signing_credential_from_pem
from federation.saml import SamlValidationError, build_authn_request, decode_post, encode_post, new_id
from federation.saml import constants as c
from federation.saml.idp_response import (
    HubEnd,
    IdpAnswer,
    IdpAnswerKind,
    check_returned_level,
    parse_idp_response,
    read_idp_answer,
)
from keys.pki import make_self_signed

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- the hub's requests -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HubRequest:
    """An AuthnRequest of the tool's, as the hub would send it, and the RelayState that goes with it."""

    id: str
    relay_state: str
    element: etree._Element

    @property
    def form(self) -> dict[str, str]:
        return {"SAMLRequest": encode_post(xmlsecurity.to_bytes(self.element)), "RelayState": self.relay_state}


def hub_request(role: HubRole, idp: IdentityProvider, now: datetime, *, sign: bool = True, **overrides) -> HubRequest:
    """The hub's AuthnRequest to `idp`: every level it is certified for, with its configured Comparison."""
    fields = {
        "issuer": role.config.hub.entity_id,
        "destination": idp.sso_url,
        "credential": role.signing,
        "now": now,
        "levels": idp.levels_of_assurance,
        "comparison": idp.authn_context_comparison,
        "request_id": new_id(),
        "sign": sign,
        **overrides,
    }
    element = build_authn_request(**fields)
    return HubRequest(element.get("ID"), secrets.token_urlsafe(16), element)


def _tampered(role: HubRole, idp: IdentityProvider, now: datetime) -> HubRequest:
    request = hub_request(role, idp, now)
    request.element.set("ForceAuthn", "true")  # after signing: the digest no longer matches
    return request


def _signed_by_another_key(role: HubRole, idp: IdentityProvider, now: datetime) -> HubRequest:
    return hub_request(role, idp, now, credential=_stranger("compliance-not-the-hub"))


def _unknown_issuer(role: HubRole, idp: IdentityProvider, now: datetime) -> HubRequest:
    return hub_request(role, idp, now, issuer="https://not-the-hub.invalid", credential=_stranger("not-the-hub"))


def _stranger(common_name: str) -> SigningCredential:
    """A key nobody in the federation holds, with a self-signed certificate."""
    return signing_credential_from_pem(*make_self_signed(common_name))


@dataclass(frozen=True)
class RequestScenario:
    name: str
    what: str  # how the request is broken, for the report
    make: Callable[[HubRole, IdentityProvider, datetime], HubRequest]


BROKEN_REQUESTS = (
    RequestScenario("request-changed-after-signing", "ForceAuthn added after the hub signed it", _tampered),
    RequestScenario("request-signed-by-another-key", "signed with a key that is not the hub's", _signed_by_another_key),
    RequestScenario("request-unsigned", "no signature", lambda r, i, n: hub_request(r, i, n, sign=False)),
    RequestScenario(
        "request-wrong-destination",
        "Destination another IDP's URL",
        lambda r, i, n: hub_request(r, i, n, destination="https://another-idp.invalid/SAML2/SSO"),
    ),
    RequestScenario("request-expired", "issued an hour ago", lambda r, i, n: hub_request(r, i, n - timedelta(hours=1))),
    RequestScenario("request-unknown-issuer", "from an issuer outside the federation", _unknown_issuer),
)


def _post_request(idp: IdentityProvider, request: HubRequest) -> Answer:
    return Browser().post(idp.sso_url, request.form, cross_site=True)  # the hub's page is another site


def _accepted_row(name: str, idp: IdentityProvider, request: HubRequest) -> Row:
    expected = "accepted (2xx or 3xx)"
    try:
        answer = _post_request(idp, request)
    except Unreachable as exc:
        return failed(name, expected, str(exc), "make the SSO URL in the federation config reachable from the hub")
    if answer.status < 400:
        return passed(name, expected, f"accepted ({answer.describe()})")
    return failed(
        name,
        expected,
        f"refused ({answer.describe()})",
        "accept the hub's correctly signed AuthnRequest: take the hub's signing certificate from federation "
        "metadata and check Destination against your SSO URL exactly as configured",
    )


def _refused_row(name: str, what: str, idp: IdentityProvider, request: HubRequest) -> Row:
    expected = "refused (4xx)"
    try:
        answer = _post_request(idp, request)
    except Unreachable as exc:
        return failed(name, expected, str(exc), "make the SSO URL in the federation config reachable from the hub")
    if 400 <= answer.status < 500:
        return passed(name, expected, f"refused ({answer.describe()})")
    if answer.status >= 500:
        return failed(name, expected, f"server error ({answer.describe()})", "refuse it with a 4xx status, not a crash")
    return failed(
        name,
        expected,
        f"accepted ({answer.describe()})",
        f"refuse an AuthnRequest {what}: verify it as docs/idp-profile.md says (signature by the hub's key from "
        "metadata, Issuer, Destination, IssueInstant within five minutes, an ID never seen before)",
    )


def check_requests(role: HubRole, idp: IdentityProvider, now: datetime) -> list[Row]:
    valid = hub_request(role, idp, now)
    rows = [_accepted_row("request-valid", idp, valid)]
    rows += [_refused_row(s.name, s.what, idp, s.make(role, idp, now)) for s in BROKEN_REQUESTS]
    rows.append(_refused_row("request-replayed", "whose ID it has seen before", idp, valid))
    return rows


# --- the answers ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerScenario:
    name: str  # also the hook's `outcome`
    kind: IdpAnswerKind
    status: str  # what the IDP sends, for the report
    failure: str | None = None  # AUTHN_FAILED: the expected StatusDetail ("authn-failed" when none)
    fraud_code: str | None = None


_NO_CONTEXT = "Responder / NoAuthnContext, StatusDetail {}"
ANSWERS = (
    AnswerScenario("success", IdpAnswerKind.SUCCESS, "Success, two assertions, a level you are certified for"),
    AnswerScenario("cancel", IdpAnswerKind.CANCEL, _NO_CONTEXT.format(c.STATUS_DETAIL_AUTHN_CANCEL)),
    AnswerScenario("pending", IdpAnswerKind.PENDING, _NO_CONTEXT.format(c.STATUS_DETAIL_LOA_PENDING)),
    AnswerScenario("authn-failed", IdpAnswerKind.AUTHN_FAILED, "Responder / AuthnFailed", failure="authn-failed"),
    AnswerScenario(
        "uplift-failed",
        IdpAnswerKind.AUTHN_FAILED,
        _NO_CONTEXT.format(c.STATUS_DETAIL_UPLIFT_FAILED),
        failure=c.STATUS_DETAIL_UPLIFT_FAILED,
    ),
    AnswerScenario("requester-error", IdpAnswerKind.REQUESTER_ERROR, "Requester"),
    AnswerScenario("request-denied", IdpAnswerKind.REQUESTER_ERROR, "Requester / RequestDenied"),
    AnswerScenario(
        "fraud-DF01",
        IdpAnswerKind.FRAUD,
        "Success, levelX, FECI_IDPFraudEventID, FECI_GPG45Status DF01",
        fraud_code="DF01",
    ),
)


@dataclass(frozen=True)
class Collected:
    """The IDP's Response to one of the tool's requests, and when it was received."""

    request_id: str
    saml_response: bytes  # the XML
    received_at: datetime


class AnswerSource:
    """Where the IDP's Responses come from: `collect` returns a Collected, or the Row that says why not."""

    description: str

    def collect(self, scenario: AnswerScenario, new_request: Callable[[], HubRequest]) -> Collected | Row:
        raise NotImplementedError


@dataclass
class AnswerHook(AnswerSource):
    """The IDP's test hook, in its integration environment only (the stub IDPs have it with
    STUB_IDP_HEADLESS=1): POST `SAMLRequest`, `RelayState`, `outcome` (the scenario name) and `username`
    to the hook URL; it answers 200 with the page that would post the signed Response to the hub: a form
    whose action is the hub's response URL, with `SAMLResponse` and the `RelayState` unchanged."""

    url: str
    username: str
    hub_response_url: str
    clock: Clock = utc_now

    @property
    def description(self) -> str:  # type: ignore[override]
        return f"test hook {self.url} (user {self.username})"

    def collect(self, scenario: AnswerScenario, new_request: Callable[[], HubRequest]) -> Collected | Row:
        expected = scenario.status
        request = new_request()
        data = {**request.form, "outcome": scenario.name, "username": self.username}
        try:
            answer = Browser().post(self.url, data, cross_site=True)
        except Unreachable as exc:
            return failed(scenario.name, expected, str(exc), "make the test hook reachable (see docs/idp-profile.md)")
        posting = next((form for form in forms(answer) if "SAMLResponse" in form.fields), None)
        if answer.status != 200 or posting is None:
            return failed(
                scenario.name,
                expected,
                f"the hook answered {answer.describe()} without a SAMLResponse form",
                "answer the hook with the page that posts SAMLResponse and RelayState to the hub",
            )
        if posting.action != self.hub_response_url:
            return failed(
                scenario.name,
                expected,
                f"the Response is posted to {posting.action}",
                f"post the Response to the hub's response URL from federation metadata ({self.hub_response_url})",
            )
        if posting.fields.get("RelayState") != request.relay_state:
            return failed(
                scenario.name,
                expected,
                "the RelayState the hub sent did not come back",
                "post the hub's RelayState back unchanged with the Response",
            )
        try:
            xml = decode_post(posting.fields["SAMLResponse"])
        except SamlValidationError as exc:
            return failed(scenario.name, expected, exc.refusal, fix_for(exc.reason))
        return Collected(request.id, xml, self.clock())


REQUESTS_FILE = "requests.json"


@dataclass
class SavedAnswers(AnswerSource):
    """Responses a tester saved from a browser, one file per scenario: `<dir>/<scenario>.saml` holding the
    SAMLResponse form value (base64) or the XML. They answer the requests `prepare_saved_answers` wrote
    (`requests.json`); each is checked as of the file's modification time, when it was saved."""

    directory: Path

    @property
    def description(self) -> str:  # type: ignore[override]
        return f"saved Responses in {self.directory}"

    def collect(self, scenario: AnswerScenario, new_request: Callable[[], HubRequest]) -> Collected | Row:
        try:
            sent = json.loads((self.directory / REQUESTS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return skipped(scenario.name, scenario.status, f"no readable {REQUESTS_FILE}: run check-idp --prepare")
        path = self.directory / f"{scenario.name}.saml"
        if not isinstance(sent.get(scenario.name), dict) or "id" not in sent[scenario.name]:
            return skipped(scenario.name, scenario.status, f"no request for it in {REQUESTS_FILE}: run --prepare")
        if not path.exists():
            return skipped(scenario.name, scenario.status, f"no saved Response {path.name}")
        text = path.read_bytes().strip()
        received = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        request_id = str(sent[scenario.name]["id"])
        if text.startswith(b"<"):
            return Collected(request_id, text, received)
        try:
            return Collected(request_id, decode_post(text.decode("ascii", errors="replace")), received)
        except SamlValidationError as exc:
            return failed(scenario.name, scenario.status, exc.refusal, fix_for(exc.reason))


def prepare_saved_answers(role: HubRole, idp: IdentityProvider, directory: Path, now: datetime) -> list[Path]:
    """One page per answer scenario that posts a fresh hub AuthnRequest to the IDP (open it in a browser,
    do the scenario at the IDP, save the SAMLResponse it posts to the hub as `<scenario>.saml`), and
    `requests.json` so that `SavedAnswers` knows which request each Response must answer."""
    directory.mkdir(parents=True, exist_ok=True)
    requests_made: dict[str, dict[str, str]] = {}
    written = []
    for scenario in ANSWERS:
        request = hub_request(role, idp, now)
        requests_made[scenario.name] = {"id": request.id, "relay_state": request.relay_state}
        fields = "".join(
            f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
            for name, value in request.form.items()
        )
        page = (
            f"<!DOCTYPE html><html lang=en><meta charset=utf-8><title>{escape(scenario.name)}</title>"
            f"<h1>Scenario {escape(scenario.name)}</h1><p>At the identity provider, answer: {escape(scenario.status)}. "
            f"Then save the SAMLResponse it posts to the hub as {escape(scenario.name)}.saml, within five minutes.</p>"
            f'<form method=post action="{escape(idp.sso_url)}">{fields}<button>Send the hub\'s request</button></form>'
        )
        path = directory / f"{scenario.name}.html"
        path.write_text(page, encoding="utf-8")
        written.append(path)
    (directory / REQUESTS_FILE).write_text(json.dumps(requests_made, indent=2), encoding="utf-8")
    return [*written, directory / REQUESTS_FILE]


def judge(role: HubRole, idp: IdentityProvider, scenario: AnswerScenario, collected: Collected) -> Row:
    """Read the Response as the hub does and say whether it means what the scenario asks for."""
    config = role.config
    try:
        response = parse_idp_response(
            xmlsecurity.parse_xml(collected.saml_response),
            idp_entity_id=idp.entity_id,
            idp_certificates=[cert.certificate for cert in idp.signing_certificates],
            is_another_idp=lambda issuer: config.identity_provider(issuer) is not None,
            hub=HubEnd(config.hub.entity_id, config.hub.response_url),
            request_id=collected.request_id,
            decryption=role.decryption,
            now=collected.received_at,
            clock_skew=config.clock_skew,
        )
        answer = read_idp_answer(response)
        if answer.kind is IdpAnswerKind.SUCCESS:
            check_returned_level(
                answer.level,  # type: ignore[arg-type]
                requested=idp.levels_of_assurance,
                comparison=idp.authn_context_comparison,
                certified=idp.levels_of_assurance,
            )
    except xmlsecurity.XmlSecurityError as exc:
        return failed(scenario.name, scenario.status, f"refused: {exc.reason}:{exc.detail or ''}", fix_for(exc.reason))
    except SamlValidationError as exc:
        return failed(scenario.name, scenario.status, f"refused: {exc.refusal}", fix_for(exc.reason))
    return _meaning(scenario, answer)


def _describe(answer: IdpAnswer) -> str:
    status = answer.response.status
    codes = " / ".join(part.rsplit(":", 1)[-1] for part in (status.code, status.sub_code) if part)
    detail = f", StatusDetail {status.detail}" if status.detail else ""
    if answer.kind is IdpAnswerKind.SUCCESS:
        return f"success at {answer.level.name}"  # type: ignore[union-attr]
    if answer.kind is IdpAnswerKind.FRAUD:
        return f"fraud {answer.fraud.gpg45_status}"  # type: ignore[union-attr]
    return f"{answer.kind.value} ({codes}{detail})"


def _meaning(scenario: AnswerScenario, answer: IdpAnswer) -> Row:
    happened = _describe(answer)
    wrong = answer.kind is not scenario.kind
    if not wrong and scenario.failure is not None:
        wrong = answer.failure != scenario.failure
    if not wrong and scenario.fraud_code is not None:
        wrong = answer.fraud.gpg45_status != scenario.fraud_code  # type: ignore[union-attr]
    if wrong:
        return failed(scenario.name, scenario.status, happened, f"for {scenario.name} send {scenario.status}")
    return passed(scenario.name, scenario.status, f"accepted by the hub's checks: {happened}")


def check_answers(role: HubRole, idp: IdentityProvider, source: AnswerSource, now: datetime) -> Iterator[Row]:
    for scenario in ANSWERS:
        collected = source.collect(scenario, lambda: hub_request(role, idp, now))
        yield collected if isinstance(collected, Row) else judge(role, idp, scenario, collected)


def check_idp(role: HubRole, idp: IdentityProvider, source: AnswerSource, *, clock: Clock = utc_now) -> Report:
    now = clock()
    rows = check_requests(role, idp, now) + list(check_answers(role, idp, source, now))
    context = (
        ("identity provider", idp.entity_id),
        ("SSO URL", idp.sso_url),
        ("hub", f"{role.config.hub.entity_id} (response URL {role.config.hub.response_url})"),
        ("answers from", source.description),
    )
    return Report(f"check-idp {idp.name}", context, tuple(rows), now)
