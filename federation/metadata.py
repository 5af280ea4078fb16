"""Signed federation metadata: the hub builds and signs it; every party verifies, refreshes and keeps it.

The document is one `md:EntitiesDescriptor` with `validUntil`: the hub's entity (an SP towards identity
providers, an IdP towards services, with signing and encryption keys) and every identity provider's
`IDPSSODescriptor`. It is signed with the metadata key; its KeyInfo carries that certificate and its
issuing intermediate, and readers accept it only if that chain leads to their trust anchor (the root CA)
through the same intermediate that issued the configured metadata certificate, so that no other key in
the federation (an IDP's, say) can sign metadata.

Readers keep the last good copy when a refresh fails or arrives badly signed, and say so in the log.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from lxml import etree
from lxml.builder import ElementMaker

from federation import xmlsecurity as xs
from federation.config import FederationConfig, MatchingService
from federation.credentials import SigningCredential
from federation.saml.constants import (
    BINDING_HTTP_POST,
    BINDING_HTTP_REDIRECT,
    BINDING_SOAP,
    NAMEID_FORMAT_PERSISTENT,
    SAMLP_NS,
)

log = logging.getLogger(__name__)

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
PROTOCOL = SAMLP_NS
HTTP_POST = BINDING_HTTP_POST
HTTP_REDIRECT = BINDING_HTTP_REDIRECT
MAX_METADATA_BYTES = 4 * 1024 * 1024
METADATA_THREAD = "metadata-refresh"  # the only thread that fetches federation metadata in a started source
_NS = {"md": MD, "ds": xs.DS}


class MetadataError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class EntityKeys:
    entity_id: str
    signing_certificates: tuple[x509.Certificate, ...]
    encryption_certificates: tuple[x509.Certificate, ...]


@dataclass(frozen=True)
class IdpMetadata(EntityKeys):
    sso_url: str


@dataclass(frozen=True)
class HubMetadata(EntityKeys):
    sso_url: str
    response_url: str


@dataclass(frozen=True)
class FederationMetadata:
    valid_until: dt.datetime
    hub: HubMetadata
    identity_providers: dict[str, IdpMetadata]

    def signing_certificates(self, entity_id: str) -> tuple[x509.Certificate, ...]:
        if entity_id == self.hub.entity_id:
            return self.hub.signing_certificates
        idp = self.identity_providers.get(entity_id)
        return idp.signing_certificates if idp else ()


# --- building (hub) -------------------------------------------------------------------------------------


def _instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _key_descriptors(md: ElementMaker, use: str, certs: Sequence[x509.Certificate]) -> list[etree._Element]:
    ds = ElementMaker(namespace=xs.DS, nsmap={"ds": xs.DS})
    return [
        md.KeyDescriptor(
            ds.KeyInfo(
                ds.X509Data(ds.X509Certificate(base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()))
            ),
            use=use,
        )
        for c in certs
    ]


def build_federation_metadata(
    config: FederationConfig,
    credential: SigningCredential,
    *,
    chain: Sequence[x509.Certificate] = (),
    now: dt.datetime | None = None,
    signing_certificates: Callable[[str], Sequence[x509.Certificate]] | None = None,
) -> bytes:
    """The signed EntitiesDescriptor, valid for `config.metadata.valid_for` from `now`.

    `signing_certificates(entity_id)` gives each entity's signing certificates as published now (the hub's
    `federation.keyring` view, current and next key); without it, those the config was loaded with."""
    now = now or dt.datetime.now(dt.UTC)
    md = ElementMaker(namespace=MD, nsmap={"md": MD, "ds": xs.DS})
    hub = config.hub
    signing_of = signing_certificates or (lambda entity_id: _configured_signing(config, entity_id))
    hub_signing = list(signing_of(hub.entity_id))
    hub_encryption = [c.certificate for c in hub.encryption_certificates]
    entities = [
        md.EntityDescriptor(
            md.SPSSODescriptor(
                *_key_descriptors(md, "signing", hub_signing),
                *_key_descriptors(md, "encryption", hub_encryption[:1]),
                md.AssertionConsumerService(Binding=HTTP_POST, Location=hub.response_url, index="0", isDefault="true"),
                protocolSupportEnumeration=PROTOCOL,
                AuthnRequestsSigned="true",
                WantAssertionsSigned="true",
            ),
            md.IDPSSODescriptor(
                *_key_descriptors(md, "signing", hub_signing),
                md.SingleSignOnService(Binding=HTTP_POST, Location=hub.sso_url),
                md.SingleSignOnService(Binding=HTTP_REDIRECT, Location=hub.sso_url),
                protocolSupportEnumeration=PROTOCOL,
                WantAuthnRequestsSigned="true",
            ),
            entityID=hub.entity_id,
        )
    ]
    for idp in config.identity_providers:
        entities.append(
            md.EntityDescriptor(
                md.IDPSSODescriptor(
                    *_key_descriptors(md, "signing", signing_of(idp.entity_id)),
                    *_key_descriptors(md, "encryption", [idp.encryption_certificate.certificate]),
                    md.SingleSignOnService(Binding=HTTP_POST, Location=idp.sso_url),
                    protocolSupportEnumeration=PROTOCOL,
                    WantAuthnRequestsSigned="true",
                ),
                entityID=idp.entity_id,
            )
        )
    root = md.EntitiesDescriptor(
        *entities,
        ID="_metadata-" + now.strftime("%Y%m%dT%H%M%S"),
        Name=hub.entity_id,
        validUntil=_instant(now + config.metadata.valid_for),
    )
    # The signature must be the first child of EntitiesDescriptor (schema order); xmlsecurity.sign puts it
    # after an Issuer, or first when there is none.
    xs.sign(root, credential, chain=chain)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _configured_signing(config: FederationConfig, entity_id: str) -> tuple[x509.Certificate, ...]:
    entity = config.hub if entity_id == config.hub.entity_id else config.identity_provider(entity_id)
    return tuple(c.certificate for c in entity.signing_certificates) if entity else ()


# --- reading (every party) -------------------------------------------------------------------------------


def _check_chain(
    certs: list[x509.Certificate], anchor: x509.Certificate, expected_issuer: x509.Name, now: dt.datetime
) -> x509.Certificate:
    """Return the signing certificate if it chains to `anchor` through the metadata intermediate."""
    if len(certs) < 2:
        raise MetadataError("chain-missing", "metadata KeyInfo must carry the signing certificate and its issuer")
    leaf, intermediate = certs[0], certs[1]
    for cert in (leaf, intermediate):
        if not (cert.not_valid_before_utc <= now <= cert.not_valid_after_utc):
            raise MetadataError("certificate-expired", f"certificate {cert.subject.rfc4514_string()} is not valid now")
    if intermediate.subject != expected_issuer or leaf.issuer != expected_issuer:
        raise MetadataError("wrong-issuer", "metadata must be signed by a key of the metadata certificate authority")
    try:
        constraints = intermediate.extensions.get_extension_for_class(x509.BasicConstraints).value
        if not constraints.ca:
            raise ValueError
        leaf.verify_directly_issued_by(intermediate)
        intermediate.verify_directly_issued_by(anchor)
    except (ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature, UnsupportedAlgorithm) as exc:
        raise MetadataError(
            "untrusted-chain", f"the metadata certificate does not chain to the trust anchor ({exc})"
        ) from None
    return leaf


def _certs(descriptor: etree._Element, use: str) -> tuple[x509.Certificate, ...]:
    found = []
    for kd in descriptor.findall("md:KeyDescriptor", _NS):
        if kd.get("use") in (use, None):
            for node in kd.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", _NS):
                found.append(xs.read_certificate(base64.b64decode("".join(node.text.split()))))
    return tuple(found)


def _sso_url(descriptor: etree._Element) -> str:
    for sso in descriptor.findall("md:SingleSignOnService", _NS):
        if sso.get("Binding") == HTTP_POST:
            return sso.get("Location")
    raise MetadataError("no-sso", "an IDPSSODescriptor has no HTTP-POST SingleSignOnService")


def parse_federation_metadata(
    data: bytes,
    *,
    trust_anchor: x509.Certificate,
    metadata_issuer: x509.Name,
    hub_entity_id: str,
    now: dt.datetime | None = None,
) -> FederationMetadata:
    """Verify and read signed federation metadata. Raises MetadataError or XmlSecurityError."""
    now = now or dt.datetime.now(dt.UTC)
    root = xs.parse_xml(data, max_bytes=MAX_METADATA_BYTES)
    if root.tag != f"{{{MD}}}EntitiesDescriptor":
        raise MetadataError("not-metadata", "the document is not an EntitiesDescriptor")
    signer = _check_chain(xs.signature_certificates(root), trust_anchor, metadata_issuer, now)
    root = xs.verify(root, [signer])
    try:
        valid_until = dt.datetime.fromisoformat(root.get("validUntil", "").replace("Z", "+00:00"))
    except ValueError:
        raise MetadataError("no-valid-until", "metadata has no valid validUntil") from None
    if valid_until <= now:
        raise MetadataError("expired", f"metadata expired at {valid_until.isoformat()}")
    hub, idps = None, {}
    try:
        for entity in root.findall("md:EntityDescriptor", _NS):
            entity_id = entity.get("entityID")
            if entity_id == hub_entity_id:
                sp = entity.find("md:SPSSODescriptor", _NS)
                idp = entity.find("md:IDPSSODescriptor", _NS)
                acs = sp.find("md:AssertionConsumerService", _NS)
                hub = HubMetadata(
                    entity_id=entity_id,
                    signing_certificates=_certs(idp, "signing"),
                    encryption_certificates=_certs(sp, "encryption"),
                    sso_url=_sso_url(idp),
                    response_url=acs.get("Location"),
                )
            else:
                idp = entity.find("md:IDPSSODescriptor", _NS)
                if idp is None:
                    continue
                idps[entity_id] = IdpMetadata(
                    entity_id=entity_id,
                    signing_certificates=_certs(idp, "signing"),
                    encryption_certificates=_certs(idp, "encryption"),
                    sso_url=_sso_url(idp),
                )
    except (AttributeError, ValueError, TypeError) as exc:
        raise MetadataError("malformed", f"metadata could not be read ({exc})") from None
    if hub is None:
        raise MetadataError("no-hub", "metadata does not describe the hub")
    return FederationMetadata(valid_until=valid_until, hub=hub, identity_providers=idps)


FIRST_LOAD_RETRY_SECONDS = 0.1  # the first retry after a failed load; doubled each time ...
FIRST_LOAD_MAX_RETRY_SECONDS = 2.0  # ... up to this while nothing has been loaded yet


class MetadataSource:
    """The current federation metadata of one party: fetched, verified, refreshed, last good copy kept.

    A party's app calls `start()` while it starts: one attempt there and then, and then a background thread
    that retries with backoff until a copy is loaded and refreshes it every `refresh_interval_seconds`.
    Once started, `current` never fetches: a request that needs the metadata before the first copy is
    loaded gets MetadataError("unavailable") at once (the app answers 503), so no request ever waits on
    another party. That matters because the parties depend on each other: the hub serves the metadata
    and calls the matching service, which needs the metadata to answer it; a matching service that
    fetched it while answering the hub could wait on a hub whose workers are all waiting on it.
    A source that was never started (a script, a test) loads on first use instead.
    """

    def __init__(
        self,
        url: str,
        *,
        trust_anchor: x509.Certificate,
        metadata_issuer: x509.Name,
        hub_entity_id: str,
        refresh_interval_seconds: float,
        timeout: float = 5.0,
        fetch: Callable[[str, float], bytes] | None = None,
    ) -> None:
        self.url = url
        self._anchor = trust_anchor
        self._issuer = metadata_issuer
        self._hub = hub_entity_id
        self.refresh_interval_seconds = refresh_interval_seconds
        self._timeout = timeout
        self._fetch = fetch or _http_fetch
        self._current: FederationMetadata | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False

    @classmethod
    def for_config(cls, config: FederationConfig, **kwargs) -> MetadataSource:
        return cls(
            config.hub.metadata_url,
            trust_anchor=config.metadata.trust_anchor.certificate,
            metadata_issuer=config.metadata.signing_certificate.certificate.issuer,
            hub_entity_id=config.hub.entity_id,
            refresh_interval_seconds=config.metadata.refresh_interval_seconds,
            **kwargs,
        )

    @property
    def ready(self) -> bool:
        """Whether a good copy has been loaded (a party's health check reports it)."""
        return self._current is not None

    @property
    def started(self) -> bool:
        return self._started

    @property
    def current(self) -> FederationMetadata:
        """The last good metadata. Once started, never fetches (MetadataError until loaded)."""
        current = self._current
        if current is None and not self.started:
            self.refresh()
            current = self._current
        if current is None:
            raise MetadataError("unavailable", f"no valid federation metadata has been loaded yet from {self.url}")
        return current

    def refresh(self) -> bool:
        """Fetch and verify; on any failure log an error and keep the last good copy. True if updated."""
        where = threading.current_thread().name  # logged: shows that no request thread ever fetches
        try:
            data = self._fetch(self.url, self._timeout)
            metadata = parse_federation_metadata(
                data, trust_anchor=self._anchor, metadata_issuer=self._issuer, hub_entity_id=self._hub
            )
        except (MetadataError, xs.XmlSecurityError) as exc:
            log.error(
                "federation metadata refresh refused (%s): %s; keeping the last good copy (%s)", exc.reason, exc, where
            )
            return False
        except (requests.RequestException, OSError) as exc:
            log.error(
                "federation metadata refresh failed: %s; keeping the last good copy (%s)", type(exc).__name__, where
            )
            return False
        with self._lock:
            self._current = metadata
        log.info("federation metadata loaded: %d identity providers (%s)", len(metadata.identity_providers), where)
        return True

    def start(self) -> None:
        """Load now (one attempt), then keep loading and refreshing in a background thread until `stop()`.

        Idempotent. Start-up never waits for the hub: the first attempt fails at once if the hub is not up
        yet (connection refused), and the thread retries after 0.1 s, 0.2 s, ... up to 2 s between tries
        until a copy is loaded; later, a failed refresh is retried the same way, up to the refresh interval.
        """
        with self._lock:
            if self._started:
                return
            self._started = True
        loaded = self.refresh()  # while the party starts: no request is being served yet
        self._thread = threading.Thread(target=self._run, args=(loaded,), name=METADATA_THREAD, daemon=True)
        self._thread.start()

    def _run(self, loaded: bool) -> None:
        retry = FIRST_LOAD_RETRY_SECONDS
        while True:
            if loaded:
                wait, retry = self.refresh_interval_seconds, FIRST_LOAD_RETRY_SECONDS
            else:
                limit = self.refresh_interval_seconds if self.ready else FIRST_LOAD_MAX_RETRY_SECONDS
                wait, retry = min(retry, limit), min(retry * 2, limit)
            if self._stop.wait(wait):
                return
            try:
                loaded = self.refresh()
            except Exception as exc:  # noqa: BLE001 - whatever a fetch raises, the thread must go on
                log.error("federation metadata refresh failed: %s; keeping the last good copy", type(exc).__name__)
                loaded = False

    def wait_until_ready(self, timeout: float) -> bool:
        """For scripts and tests: wait up to `timeout` seconds for the first copy (never on a request path)."""
        deadline = time.monotonic() + timeout
        while not self.ready and time.monotonic() < deadline:
            self._stop.wait(0.02)
        return self.ready

    def stop(self) -> None:
        self._stop.set()


def _http_fetch(url: str, timeout: float) -> bytes:
    with requests.get(url, timeout=timeout, stream=True) as response:
        response.raise_for_status()
        body = response.raw.read(MAX_METADATA_BYTES + 1, decode_content=True)
    if len(body) > MAX_METADATA_BYTES:
        raise MetadataError("too-large", "federation metadata is larger than allowed")
    return body


# --- a matching service's own metadata ---------------------------------------------------------------------


def build_matching_service_metadata(
    matching_service: MatchingService,
    credential: SigningCredential,
    *,
    now: dt.datetime,
    valid_for: dt.timedelta = dt.timedelta(hours=24),
    signing_certificates: Sequence[x509.Certificate] | None = None,
) -> bytes:
    """The signed EntityDescriptor of `matching_service` (an AttributeAuthorityDescriptor), valid for
    `valid_for` from `now`: its signing certificates (current and, during a rotation, next), the encryption
    certificate the hub encrypts to, and the SOAP AttributeService where the hub sends its queries.
    `signing_certificates`: those published now (`federation.keyring`); without it, those of the config."""
    md = ElementMaker(namespace=MD, nsmap={"md": MD, "ds": xs.DS})
    root = md.EntityDescriptor(
        md.AttributeAuthorityDescriptor(
            *_key_descriptors(
                md,
                "signing",
                signing_certificates or [c.certificate for c in matching_service.signing_certificates],
            ),
            *_key_descriptors(md, "encryption", [matching_service.encryption_certificate.certificate]),
            md.AttributeService(Binding=BINDING_SOAP, Location=matching_service.attribute_query_url),
            md.NameIDFormat(NAMEID_FORMAT_PERSISTENT),
            protocolSupportEnumeration=PROTOCOL,
        ),
        entityID=matching_service.entity_id,
        ID="_ms-metadata-" + now.strftime("%Y%m%dT%H%M%S"),
        validUntil=_instant(now + valid_for),
    )
    xs.sign(root, credential)  # first child of EntityDescriptor, as the schema requires
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
