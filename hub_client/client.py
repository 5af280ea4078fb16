"""`HubClient`: signs citizens in through the hub on behalf of one service, in the service's profile.

The hub's certificates and SSO URL come from signed federation metadata; the service's own entry (its
profile, levels, matching service, attributes) and its matching service's certificates from the
federation config. The profile (`RelyingParty.saml_profile`) decides how a success is read:
`verify_profile` or `standard_profile`; the Response around it, its failures and replays are the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from federation import moved_journey, xmlsecurity
from federation.config import ConfigError, FederationConfig, RelyingParty
from federation.credentials import EntityCredentials, load_entity_credentials
from federation.jose import JwtError
from federation.keyring import CertificateFiles, SigningKeyRing, published_paths
from federation.metadata import MetadataSource
from federation.moved_journey import MovedJourney
from federation.saml import decode_post, decrypt_assertion, parse_response
from federation.saml.constants import SamlProfile
from federation.saml.ids import now_utc
from federation.web.i18n import with_language
from hub_client.errors import HubResponseError, refusing
from hub_client.expectations import Expected
from hub_client.outcome import Outcome, scenario_for_failure
from hub_client.replay import ConsumedRequests
from hub_client.sign_in import SamlPost, post_authn_request, redirect_authn_request
from hub_client.standard_profile import read_standard_assertion
from hub_client.verify_profile import read_idp_assertions, read_matching_service_assertion

__all__ = ["Clock", "HubClient", "ReceivedResponse"]

Clock = Callable[[], datetime]
MAX_ID_LENGTH = 256  # our request IDs are 41 characters; anything far longer is not an answer to one


@dataclass(frozen=True)
class ReceivedResponse:
    """A hub Response parsed once, not yet verified: `in_response_to` is only what it claims to answer."""

    in_response_to: str
    element: xmlsecurity.Element = field(repr=False)


class HubClient:
    """Signs citizens in through the hub on behalf of one relying party (one service)."""

    def __init__(
        self,
        config: FederationConfig,
        relying_party: RelyingParty,
        credentials: EntityCredentials,
        metadata_source: MetadataSource,
        clock: Clock = now_utc,
        signing_keys: SigningKeyRing | None = None,
    ) -> None:
        """`signing_keys`: the service's signing key as its files hold it now, so that a promoted key signs
        without a restart (`federation.keyring`); without it, `credentials.signing` signs."""
        self.config = config
        self.relying_party = relying_party
        self.acs_url = relying_party.default_acs_url()
        self._credentials = credentials
        self._signing_keys = signing_keys
        self._metadata = metadata_source
        self._clock = clock
        self._consumed = ConsumedRequests(config.session_lifetime + config.clock_skew)
        self._matching_service_certs: CertificateFiles | None = None
        if relying_party.matching_service_entity_id is not None:
            matching_service = config.matching_service(relying_party.matching_service_entity_id)
            if matching_service is None:  # the config loader already refuses this; be explicit anyway
                raise ValueError(f"no matching service {relying_party.matching_service_entity_id!r} in the config")
            # its certificates as the files hold them now, with its next one (federation.keyring): a rotation
            # of the matching service's key needs no restart here
            paths = published_paths([cert.path for cert in matching_service.signing_certificates])
            self._matching_service_certs = CertificateFiles(paths)

    @classmethod
    def for_service(
        cls,
        config: FederationConfig,
        service: str,
        keys_dir: Path,
        *,
        keys_name: str | None = None,
        metadata_source: MetadataSource | None = None,
        clock: Clock = now_utc,
    ) -> HubClient:
        """The client of `service` (its name or entity ID in the federation config), with its keys.

        Keys are read from `keys_dir` as `<keys_name>-signing.key/.crt` and `<keys_name>-encryption.key/.crt`
        (`keys_name` defaults to the service's name) and checked against the service's certificates in the
        config, so a mismatch stops start-up with a ConfigError rather than failing every sign-in. Without
        `metadata_source` the client fetches the federation metadata itself. Either way the source is started
        here: loaded now (or, if the hub is not up yet, in the background with retries) and refreshed in the
        background, so no sign-in ever waits for a metadata fetch (before the first copy is loaded,
        `start_sign_in` raises MetadataError "unavailable").
        """
        rp = config.relying_party(service) or next((rp for rp in config.relying_parties if rp.name == service), None)
        if rp is None:
            raise ConfigError(config.source, service, None, "no such relying party in the federation config")
        keys_name = keys_name or rp.name
        credentials = load_entity_credentials(Path(keys_dir), keys_name)

        def error(field: str, problem: str) -> ConfigError:
            return ConfigError(config.source, rp.entity_id, field, problem, kind="relying party")

        if all(cert.certificate != credentials.signing.certificate for cert in rp.signing_certificates):
            raise error("signing_certificates", f"does not list the certificate of the {keys_name!r} signing key")
        encryption = rp.encryption_certificate
        if encryption is not None and encryption.certificate != credentials.encryption.certificate:
            raise error("encryption_certificate", f"is not the certificate of the {keys_name!r} encryption key")
        if metadata_source is None:
            metadata_source = MetadataSource.for_config(config)
        metadata_source.start()
        keys = SigningKeyRing(Path(keys_dir) / f"{keys_name}-signing.key", Path(keys_dir) / f"{keys_name}-signing.crt")
        return cls(config, rp, credentials, metadata_source, clock=clock, signing_keys=keys)

    # --- sending the citizen to the hub ---------------------------------------------------------------

    def start_sign_in(self, relay_state: str | None = None, *, language: str | None = None) -> tuple[str, SamlPost]:
        """A signed AuthnRequest for the HTTP-POST binding: (its ID, the form the browser posts to the hub).

        Keep the ID server-side with the browser session that started the sign-in, for `handle_response`.
        `language` ("en" or "cy"): the citizen's language, which the hub's pages (and the company's) then use.
        Raises MetadataError when no federation metadata can be had (the hub's SSO URL comes from it).
        """
        request_id, post = post_authn_request(**self._authn_request(), relay_state=relay_state)
        return request_id, replace(post, url=with_language(post.url, language))

    def start_sign_in_redirect(self, relay_state: str | None = None, *, language: str | None = None) -> tuple[str, str]:
        """The same for the HTTP-Redirect binding: (the request ID, the URL to send the browser to)."""
        request_id, url = redirect_authn_request(**self._authn_request(), relay_state=relay_state)
        return request_id, with_language(url, language)

    def _authn_request(self) -> dict[str, Any]:
        """Who asks, where to and when: the hub's SSO URL comes from the federation metadata."""
        return {
            "issuer": self.relying_party.entity_id,
            "destination": self._metadata.current.hub.sso_url,
            "credential": self._signing_keys.current if self._signing_keys else self._credentials.signing,
            "now": self._clock(),
        }

    # --- reading the hub's answer ---------------------------------------------------------------------

    def receive_response(self, saml_response_b64: str) -> ReceivedResponse:
        """The hub's Response as posted, parsed once (safely) and NOT verified: its `in_response_to` finds
        the sign-in attempt when the hub's POST comes without the browser's cookie (the hub on another
        site); pass it to `handle_response`, which verifies this same parsed message against the attempt.
        Raises HubResponseError.
        """
        with refusing():
            root = xmlsecurity.parse_xml(decode_post(saml_response_b64))
        in_response_to = root.get("InResponseTo")
        if not in_response_to or len(in_response_to) > MAX_ID_LENGTH:
            raise HubResponseError("no-in-response-to", "the Response names no request it answers")
        return ReceivedResponse(in_response_to, root)

    def request_id_answered(self, saml_response_b64: str) -> str:
        """The request ID a hub Response says it answers, NOT verified (`receive_response`, for callers that
        then pass the base64 text itself to `handle_response`). Raises HubResponseError."""
        return self.receive_response(saml_response_b64).in_response_to

    def handle_response(self, saml_response: str | ReceivedResponse, *, expected_request_id: str) -> Outcome:
        """Validate the hub's Response to our request and say what it means. Raises HubResponseError.

        `saml_response`: the form's base64 `SAMLResponse`, or what `receive_response` made of it.
        Each request is answered once: a second Response to the same request is refused (`replayed-response`).
        """
        with refusing():
            return self._handle(saml_response, expected_request_id)

    def _handle(self, saml_response: str | ReceivedResponse, expected_request_id: str) -> Outcome:
        metadata = self._metadata.current
        now = self._clock()
        expected = Expected(self.relying_party, self.acs_url, expected_request_id, now, self.config.clock_skew)
        hub = metadata.hub
        # The Response must be signed by the hub: only the hub's certificates are offered for it.
        message = saml_response.element if isinstance(saml_response, ReceivedResponse) else decode_post(saml_response)
        response = parse_response(
            message,
            certificates_for_issuer=lambda issuer: hub.signing_certificates if issuer == hub.entity_id else (),
            expected_destination=self.acs_url,
            expected_in_response_to=expected_request_id,
            expected_audience=self.relying_party.entity_id,
            now=now,
            clock_skew=self.config.clock_skew,
        )
        if not self._consumed.consume(expected_request_id):
            raise HubResponseError("replayed-response", "this sign-in request has already been answered")
        if not response.status.is_success:
            return Outcome(scenario_for_failure(response.status), response.id, response.status)
        if not response.encrypted_elements:
            raise HubResponseError("missing-assertion", "a success response carries no assertion")
        decrypted = [  # the elements of the verified Response itself: not serialised and parsed again
            decrypt_assertion(encrypted, [self._credentials.encryption]) for encrypted in response.encrypted_elements
        ]
        if self.relying_party.saml_profile is SamlProfile.STANDARD:
            return read_standard_assertion(decrypted, response, expected, hub)
        if self.relying_party.uses_matching:
            certs = self._matching_service_certs.certificates if self._matching_service_certs is not None else ()
            return read_matching_service_assertion(decrypted, response, expected, certs)
        return read_idp_assertions(decrypted, response, expected, metadata)

    # --- a journey the citizen moved to another device at the hub -------------------------------------

    def moved_journey_check_url(self, request_id: str, nonce: str) -> str:
        """Where to send a browser that brought an answer to `request_id` but did not start that sign-in: the
        hub says there, with a signed statement back at your ACS (`MOVED_JOURNEY_PARAMETER`), whether the
        citizen moved that journey to this browser. `nonce`: fresh, random, kept with this browser's session."""
        return moved_journey.check_url(self.config.hub.base_url, self.relying_party.entity_id, request_id, nonce)

    def read_moved_journey(self, statement: str) -> MovedJourney:
        """The hub's statement, verified (hub signature from the federation metadata, for this service, in
        time). Compare its `request_id` and `nonce` with what you sent; apply the answer only if `moved`.
        Raises HubResponseError (`moved-journey-...`)."""
        hub = self._metadata.current.hub
        try:
            return moved_journey.read_statement(
                statement,
                hub.signing_certificates,
                hub_entity_id=hub.entity_id,
                service=self.relying_party.entity_id,
                now=self._clock(),
                leeway=self.config.clock_skew,
            )
        except JwtError as exc:
            raise HubResponseError(
                f"moved-journey-{exc.reason}", "the hub's moved-journey statement was refused"
            ) from None
