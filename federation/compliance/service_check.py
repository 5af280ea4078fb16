"""`federation check-service`: a service's sign-in and assertion consumer service, checked as the hub.

For each scenario the tool starts a sign-in at the service as a browser would (`start_sign_in`), checks
the service's AuthnRequest with the hub's own parser, then posts a hub-signed Response to the service's
ACS, cross-site and without cookies as the hub's page does, and follows the service's redirects with the
browser's cookies. What the service did is read from HTTP: it **accepted** the Response when the ACS and
the pages it redirects to answer 2xx/3xx, and **refused** it when one answers 4xx. A 5xx is always a
failure. Good Responses (success, cancel, authentication failed, no match, requester error) must be
accepted; bad ones (bad signature, wrong audience, wrong Destination, expired, replayed, answering a
request the service never sent) refused.

A success carries what the service's profile says. In the `verify` profile: what the service's own
parties sign, its matching service's assertion (or, for a service without one, an identity provider's
two assertions); the tool signs them with that party's key when the keys directory holds it
(`--assertion-key`). Without it the success and wrong-audience scenarios are skipped, and the other bad
Responses are sent as cancels (a service must refuse those just the same). In the `standard` profile:
the one assertion the hub signs (docs/saml-profiles.md), which the tool, holding the hub's keys, always
signs. Every assertion is encrypted with the service's `key_transport`, as the hub encrypts it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

from lxml import etree

from federation import xmlsecurity
from federation.compliance.http import Answer, Browser, Unreachable, forms
from federation.compliance.hub_role import HubRole
from federation.compliance.report import Report, Row, failed, passed, skipped
from federation.config import RelyingParty
from federation.credentials import CredentialError, SigningCredential, load_signing_credential
from federation.logsafe import log_safe
from federation.saml import (
    Address,
    Attribute,
    AuthnRequestData,
    MatchingDataset,
    MdsValue,
    SamlValidationError,
    Status,
    build_assertion,
    build_response,
    decode_post,
    encode_post,
    encrypt_assertion,
    new_id,
    parse_authn_request,
    parse_redirect_authn_request,
)
from federation.saml import constants as c
from federation.saml.assertion import mds_attributes
from federation.saml.constants import MatchingOutcome, SamlProfile
from federation.saml.standard import build_standard_assertion, released_attributes

Clock = Callable[[], datetime]
MAX_START_STEPS = 6

# A fictional person for the identity a service without a matching service, or a standard service, receives.
TEST_IDENTITY = MatchingDataset(
    first_names=(MdsValue("Compliance", verified=True),),
    surnames=(MdsValue("Tester", verified=True),),
    date_of_birth=MdsValue(date(1980, 1, 1), verified=True),
    current_address=Address(lines=("1 Test Street", "Testtown"), postcode="TE1 1ST", verified=True),
)


class SignInNotStarted(Exception):
    """No sign-in could be started at the service: `str()` says why, for the report."""


@dataclass
class SignIn:
    """A sign-in the tool started as a citizen's browser: the service's request, as the hub read it."""

    browser: Browser
    request: AuthnRequestData
    relay_state: str | None
    acs_url: str


def _acs_url(rp: RelyingParty, request: AuthnRequestData) -> str:
    """Where the hub answers this request, by the hub's rules (the URL or index must be configured)."""
    if request.acs_url is not None:
        if request.acs_url not in {acs.url for acs in rp.assertion_consumer_services}:
            raise SamlValidationError(
                "acs-url-not-configured",
                "AssertionConsumerServiceURL is not configured",
                detail=f"{log_safe(request.acs_url, max_chars=120)} is not an ACS URL of the service in the config",
            )
        return request.acs_url
    url = rp.acs_url(request.acs_index)
    if url is None:
        raise SamlValidationError(
            "acs-index-not-configured",
            "AssertionConsumerServiceIndex is not configured",
            detail=f"index {request.acs_index} is not in the federation config",
        )
    return url


def _read_request(role: HubRole, rp: RelyingParty, answer: Answer) -> tuple[AuthnRequestData, str | None] | None:
    """The AuthnRequest this answer carries to the hub (POST form or Redirect), verified as the hub does."""
    hub = role.config.hub
    certificates = {rp.entity_id: [cert.certificate for cert in rp.signing_certificates]}
    lookup = lambda issuer: certificates.get(issuer, ())  # noqa: E731
    now = datetime.now(UTC)
    if answer.is_redirect and (answer.location or "").split("?")[0] == hub.sso_url:
        redirect = parse_redirect_authn_request(
            urlsplit(answer.location).query,  # type: ignore[arg-type]
            certificates_for_issuer=lookup,
            expected_destination=hub.sso_url,
            now=now,
            clock_skew=role.config.clock_skew,
        )
        return redirect.request, redirect.relay_state
    carrying = next((form for form in forms(answer) if "SAMLRequest" in form.fields), None)
    if carrying is None:
        return None
    if carrying.action.split("?")[0] != hub.sso_url:  # a `lang` parameter for the hub's pages is fine
        raise SignInNotStarted(f"the service posts its AuthnRequest to {carrying.action}, not the hub's {hub.sso_url}")
    request = parse_authn_request(
        decode_post(carrying.fields["SAMLRequest"]),
        certificates_for_issuer=lookup,
        expected_destination=hub.sso_url,
        now=now,
        clock_skew=role.config.clock_skew,
    )
    return request, carrying.fields.get("RelayState")


def start_sign_in(role: HubRole, rp: RelyingParty, start_url: str) -> SignIn:
    """Open `start_url` and submit the first POST form (or else the first form) of each page until the
    service sends its AuthnRequest to the hub (SignInNotStarted if it does not; SamlValidationError if the
    hub would refuse it)."""
    browser = Browser()
    try:
        answer = browser.get(start_url)
        for _ in range(MAX_START_STEPS):
            found = _read_request(role, rp, answer)
            if found is not None:
                request, relay_state = found
                return SignIn(browser, request, relay_state, _acs_url(rp, request))
            if answer.is_redirect:
                answer = browser.get(answer.location)  # type: ignore[arg-type]
                continue
            found = forms(answer)  # the first POST form, else the first form (a GET "Sign in" button)
            form = next((form for form in found if form.method == "post"), found[0] if found else None)
            if answer.status >= 400 or form is None:
                raise SignInNotStarted(f"{answer.url} answered {answer.describe()} with no form that starts a sign-in")
            if form.method == "post":
                answer = browser.post(form.action, form.fields)
            else:  # a GET form (e.g. a "Sign in" button): the browser navigates to its action with its fields
                query = urlencode(form.fields)
                answer = browser.get(urlunsplit(urlsplit(form.action)._replace(query=query)) if query else form.action)
    except Unreachable as exc:
        raise SignInNotStarted(str(exc)) from None
    raise SignInNotStarted(f"no AuthnRequest to the hub after {MAX_START_STEPS} steps from {start_url}")


# --- the hub's Responses ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssertionSigner:
    """The party whose assertion a success carries to this service, and its signing key."""

    entity_id: str
    credential: SigningCredential
    matching: bool  # verify: True, the matching service's one assertion; False, an IDP's two
    standard: bool = False  # the standard profile: the one assertion the hub signs


def assertion_signer(role: HubRole, rp: RelyingParty, key_name: str | None) -> AssertionSigner | str:
    """The signer for the service's success assertions, or why there is none (success scenarios skip).

    A `standard` service's assertion is the hub's own: `key_name` does not apply to it."""
    if rp.saml_profile is SamlProfile.STANDARD:
        return AssertionSigner(role.config.hub.entity_id, role.signing, rp.uses_matching, standard=True)
    keys = role.keys_dir
    if rp.matching_service_entity_id is not None:
        candidates = [role.config.matching_service(rp.matching_service_entity_id)]
    else:
        candidates = list(role.config.identity_providers)
    for party in candidates:
        if party is None or (key_name is not None and key_name != party.name):
            continue
        for cert in party.signing_certificates:
            try:
                credential = load_signing_credential(keys / f"{party.name}-signing.key", cert.path)
            except CredentialError:
                continue
            return AssertionSigner(party.entity_id, credential, rp.matching_service_entity_id is not None)
    whose = "its matching service's" if rp.matching_service_entity_id else "an identity provider's"
    return f"needs {whose} signing key in {keys} (--assertion-key NAME: NAME-signing.key)"


def _success_assertions(
    rp: RelyingParty, sign_in: SignIn, signer: AssertionSigner, role: HubRole, now: datetime, audience: str | None
) -> list[etree._Element]:
    recipient_cert = rp.encryption_certificate
    if recipient_cert is None:
        raise ValueError("the service has no encryption certificate in the federation config")
    hub = role.config.hub
    if signer.standard:
        assertion = build_standard_assertion(
            issuer=hub.entity_id,
            name_id=secrets.token_hex(32),  # a pairwise identifier's form
            rp_entity_id=rp.entity_id,
            audience=audience,
            acs_url=sign_in.acs_url,
            in_response_to=sign_in.request.id,
            level=rp.minimum_level,
            authn_instant=now,
            attributes=released_attributes(TEST_IDENTITY, rp.attributes),
            credential=signer.credential,
            now=now,
            extra_attributes=((c.MATCHING_OUTCOME, MatchingOutcome.MATCH.value),) if signer.matching else (),
        )
        return [encrypt_assertion(assertion, recipient_cert.certificate, key_transport=rp.key_transport)]
    if signer.matching:
        assertion = build_assertion(
            issuer=signer.entity_id,
            name_id=secrets.token_hex(32),  # a hashed PID's form
            audience=audience or rp.entity_id,
            recipient=sign_in.acs_url,
            in_response_to=sign_in.request.id,
            credential=signer.credential,
            now=now,
            level_of_assurance=rp.minimum_level,
        )
        return [encrypt_assertion(assertion, recipient_cert.certificate, key_transport=rp.key_transport)]
    common = {
        "issuer": signer.entity_id,
        "name_id": secrets.token_hex(32),
        "audience": audience or hub.entity_id,  # the IDP's assertions, relayed: addressed to the hub
        "recipient": hub.response_url,
        "in_response_to": new_id(),  # the hub's own request to the IDP
        "credential": signer.credential,
        "now": now,
    }
    authn = build_assertion(
        **common, level_of_assurance=rp.minimum_level, attributes=[Attribute(c.TXN_IPADDRESS, ("192.0.2.1",))]
    )
    mds = build_assertion(**common, attributes=mds_attributes(TEST_IDENTITY))
    return [encrypt_assertion(a, recipient_cert.certificate, key_transport=rp.key_transport) for a in (authn, mds)]


@dataclass(frozen=True)
class Outbound:
    """How one scenario's Response differs from a correct one."""

    status: Status = Status(c.STATUS_SUCCESS)
    audience: str | None = None
    destination: str | None = None
    in_response_to: str | None = None
    age: timedelta = timedelta(0)
    tamper: bool = False


def hub_response(
    role: HubRole, rp: RelyingParty, sign_in: SignIn, signer: AssertionSigner | None, outbound: Outbound, now: datetime
) -> bytes:
    """The hub's signed Response for `sign_in`, as the hub builds it, changed as `outbound` says."""
    then = now - outbound.age
    assertions = []
    if outbound.status.is_success:
        assert signer is not None  # noqa: S101 - success scenarios are skipped without a signer
        assertions = _success_assertions(rp, sign_in, signer, role, then, outbound.audience)
    response = build_response(
        issuer=role.config.hub.entity_id,
        in_response_to=outbound.in_response_to or sign_in.request.id,
        status=outbound.status,
        credential=role.signing,
        now=then,
        destination=outbound.destination or sign_in.acs_url,
        assertions=assertions,
    )
    if outbound.tamper:
        response.set("IssueInstant", response.get("IssueInstant").replace("Z", "0Z"))  # after signing
    return xmlsecurity.to_bytes(response)


# --- observing the service ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Observed:
    accepted: bool | None  # None: a server error or no answer
    what: str


def post_to_acs(sign_in: SignIn, saml_response: bytes) -> Observed:
    """POST as the hub's page does (cross-site: no cookie), then follow redirects as the browser does."""
    fields = {"SAMLResponse": encode_post(saml_response)}
    if sign_in.relay_state is not None:
        fields["RelayState"] = sign_in.relay_state
    try:
        first = sign_in.browser.post(sign_in.acs_url, fields, cross_site=True)
        final = sign_in.browser.follow(first)
    except Unreachable as exc:
        return Observed(None, str(exc))
    trail = first.describe() if final is first else f"{first.describe()}, then {final.describe()}"
    if first.status >= 500 or final.status >= 500:
        return Observed(None, f"server error ({trail})")
    if first.status >= 400 or final.status >= 400:
        return Observed(False, f"refused ({trail})")
    return Observed(True, f"accepted ({trail})")


@dataclass(frozen=True)
class ServiceScenario:
    name: str
    expected_accepted: bool
    what: str  # the Response, for the report
    outbound: Outbound
    fix: str  # when the service does the opposite
    matching_only: bool = False
    # "status": a Response with outbound.status; "assertion": a success, so it needs the assertion signer;
    # "either": a success when there is a signer, otherwise a cancel (a service must refuse that too)
    carries: str = "status"

    def for_signer(self, has_signer: bool) -> tuple[Outbound, str]:
        """The Response to send and how the report names it, with or without the assertion signer."""
        if self.carries == "either" and not has_signer:
            return replace(self.outbound, status=CANCEL), self.what.format(answer="A cancel")
        return self.outbound, self.what.format(answer="Success")

    def expected(self, what: str) -> str:
        return ("accepted: " if self.expected_accepted else "refused: ") + what


CANCEL = Status(c.STATUS_RESPONDER, c.STATUS_NO_AUTHN_CONTEXT)


def _scenarios() -> tuple[ServiceScenario, ...]:
    good = "handle it: verify the hub's signature and show the citizen the outcome, with a 2xx or 3xx"
    return (
        ServiceScenario("success", True, "{answer} with the assertion", Outbound(), good, carries="assertion"),
        ServiceScenario("cancel", True, "Responder / NoAuthnContext", Outbound(CANCEL), good),
        ServiceScenario(
            "authn-failed",
            True,
            "Responder / AuthnFailed",
            Outbound(Status(c.STATUS_RESPONDER, c.STATUS_AUTHN_FAILED)),
            good,
        ),
        ServiceScenario(
            "no-match",
            True,
            "Responder / no-match",
            Outbound(Status(c.STATUS_RESPONDER, c.STATUS_NO_MATCH)),
            good,
            matching_only=True,
        ),
        ServiceScenario("requester-error", True, "Requester", Outbound(Status(c.STATUS_REQUESTER)), good),
        ServiceScenario(
            "bad-signature",
            False,
            "{answer} changed after the hub signed it",
            Outbound(tamper=True),
            "verify the Response's signature with the hub's signing certificates from federation metadata, "
            "and refuse it (4xx) when it does not verify",
            carries="either",
        ),
        ServiceScenario(
            "wrong-audience",
            False,
            "{answer} whose assertion is for another audience",
            Outbound(audience="https://another-service.invalid"),
            "check the assertion's Audience is your entity ID (the hub's, for an IDP's relayed assertions)",
            carries="assertion",
        ),
        ServiceScenario(
            "wrong-destination",
            False,
            "{answer} whose Destination is another URL",
            Outbound(destination="https://another-service.invalid/SAML2/SSO/POST"),
            "check the Response's Destination is the URL it arrived at",
            carries="either",
        ),
        ServiceScenario(
            "expired",
            False,
            "{answer} issued three hours ago",
            Outbound(age=timedelta(hours=3)),
            "refuse a Response issued more than a few minutes ago and an expired assertion",
            carries="either",
        ),
        ServiceScenario(
            "wrong-in-response-to",
            False,
            "{answer} answering a request the service never sent",
            Outbound(in_response_to=new_id()),
            "accept only a Response whose InResponseTo is a sign-in this browser started and that is not answered yet",
            carries="either",
        ),
    )


def _row(scenario: ServiceScenario, expected: str, observed: Observed) -> Row:
    if observed.accepted is scenario.expected_accepted:
        return passed(scenario.name, expected, observed.what)
    if observed.accepted is None:
        return failed(scenario.name, expected, observed.what, "answer every Response without a server error")
    return failed(scenario.name, expected, observed.what, scenario.fix)


def check_service(
    role: HubRole,
    rp: RelyingParty,
    *,
    start_url: str | None = None,
    assertion_key: str | None = None,
    clock: Clock = lambda: datetime.now(UTC),
) -> Report:
    start = start_url or rp.service_home_url
    signer = assertion_signer(role, rp, assertion_key)
    rows: list[Row] = []
    try:
        first = start_sign_in(role, rp, start)
        rows.append(
            passed("authn-request", "the hub accepts the service's AuthnRequest", f"accepted, ACS {first.acs_url}")
        )
    except SignInNotStarted as exc:
        rows.append(failed("authn-request", "a sign-in that sends an AuthnRequest to the hub", str(exc), _START_FIX))
        first = None
    except SamlValidationError as exc:
        rows.append(
            failed(
                "authn-request", "the hub accepts the service's AuthnRequest", f"refused: {exc.refusal}", _REQUEST_FIX
            )
        )
        first = None
    has_signer = not isinstance(signer, str)
    accepted: dict[str, tuple[SignIn, bytes]] = {}  # scenario -> an accepted Response, to replay
    for scenario in _scenarios():
        outbound, what = scenario.for_signer(has_signer)
        expected = scenario.expected(what)
        if scenario.matching_only and rp.matching_service_entity_id is None:
            continue
        if scenario.carries == "assertion" and not has_signer:
            rows.append(skipped(scenario.name, expected, signer))  # type: ignore[arg-type]
            continue
        if first is None:
            rows.append(skipped(scenario.name, expected, "no sign-in could be started (see authn-request)"))
            continue
        try:
            sign_in = start_sign_in(role, rp, start)
        except (SignInNotStarted, SamlValidationError) as exc:
            rows.append(failed(scenario.name, expected, f"no sign-in: {exc}", _START_FIX))
            continue
        response = hub_response(role, rp, sign_in, signer if has_signer else None, outbound, clock())  # type: ignore[arg-type]
        observed = post_to_acs(sign_in, response)
        rows.append(_row(scenario, expected, observed))
        if observed.accepted:
            accepted[scenario.name] = (sign_in, response)
    replay_of = "success" if "success" in accepted else "cancel"
    replay = ServiceScenario(
        "replayed",
        False,
        f"the accepted {replay_of} Response again",
        Outbound(),
        "accept each Response once: remember the answered request (or the Response ID) until it expires",
    )
    if replay_of not in accepted:
        rows.append(skipped(replay.name, replay.expected(replay.what), "needs an accepted Response (see above)"))
    else:
        rows.append(_row(replay, replay.expected(replay.what), post_to_acs(*accepted[replay_of])))
    context = (
        ("service", rp.entity_id),
        ("start URL", start),
        ("success assertions signed by", signer if isinstance(signer, str) else signer.entity_id),
        ("accepted means", "the ACS and the pages it redirects to answer 2xx/3xx; refused: one answers 4xx"),
    )
    return Report(f"check-service {rp.name}", context, tuple(rows), clock())


_START_FIX = (
    "the start URL must lead, by GETs, redirects and the first form of each page, to the AuthnRequest posted "
    "(or redirected) to the hub's SSO URL; give --start-url"
)
_REQUEST_FIX = (
    "sign the AuthnRequest with the key whose certificate the federation config lists for the service, "
    "Destination = the hub's SSO URL, and an ACS URL or index the config lists (see the refusal)"
)
