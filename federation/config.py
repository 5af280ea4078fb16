"""Federation configuration: one YAML file -> frozen dataclasses, validated as a whole on load.

Every mistake is reported as a `ConfigError` naming the file, the entity and the field, so an operator can
fix the file without reading this code. Certificates are read and checked here, once per process.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from federation import vectors_of_trust as vot
from federation.credentials import CredentialError
from federation.jose import load_jwks_file
from federation.loa import LevelOfAssurance
from federation.saml.constants import STANDARD_ATTRIBUTES, SamlProfile
from federation.xmlsecurity import KeyTransport

__all__ = [
    "ACCOUNT_CREATION_ATTRIBUTES",
    "AssertionConsumerService",
    "Certificate",
    "ConfigError",
    "Cycle3Attribute",
    "FederationConfig",
    "Hub",
    "IdentityProvider",
    "LocalizedText",
    "MatchingService",
    "MetadataSettings",
    "OIDC_CLAIMS",
    "OidcClient",
    "RelyingParty",
    "expiring_certificates",
    "load_federation_config",
]

# The attributes a matching service can return after creating an account (GOV.UK Verify profile names).
ACCOUNT_CREATION_ATTRIBUTES = frozenset(
    "FIRST_NAME FIRST_NAME_VERIFIED MIDDLE_NAME MIDDLE_NAME_VERIFIED SURNAME SURNAME_VERIFIED DATE_OF_BIRTH "
    "DATE_OF_BIRTH_VERIFIED CURRENT_ADDRESS CURRENT_ADDRESS_VERIFIED ADDRESS_HISTORY CYCLE_3".split()
)
MAX_SIGNING_CERTIFICATES = 2  # the current key and, during a rotation, the next one

# The claims an OpenID Connect client may be configured to receive (docs/oidc.md): the verified identity as
# OpenID Connect for Identity Assurance `verified_claims`, and GOV.UK One Login's signed identity JWT.
CORE_IDENTITY_CLAIM = "https://vocab.account.gov.uk/v1/coreIdentityJWT"
OIDC_CLAIMS: tuple[str, ...] = ("given_name", "family_name", "birthdate", "address", CORE_IDENTITY_CLAIM)

HUB_SSO_PATH = "/SAML2/SSO"
HUB_RESPONSE_PATH = "/SAML2/SSO/Response/POST"
HUB_METADATA_PATH = "/SAML2/metadata/federation"
# A matching service's `local_matching_url` naming the built-in local matcher, called in its own process.
BUILTIN_LOCAL_MATCHER = "builtin:"


# --------------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Certificate:
    path: Path
    certificate: x509.Certificate = field(repr=False)
    pem: bytes = field(repr=False)

    @property
    def not_before(self) -> datetime:
        return self.certificate.not_valid_before_utc

    @property
    def not_after(self) -> datetime:
        return self.certificate.not_valid_after_utc

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class LocalizedText:
    en: str
    cy: str

    def get(self, language: str) -> str:
        return self.cy if language == "cy" else self.en


@dataclass(frozen=True)
class AssertionConsumerService:
    index: int
    url: str
    is_default: bool


@dataclass(frozen=True)
class Cycle3Attribute:
    name: str
    pattern: str  # the whole answer must match (re.fullmatch)
    label: LocalizedText
    hint: LocalizedText
    example: LocalizedText | None = None  # shown in the hint and in the format error, e.g. "QQ 12 34 56 C"
    error_missing: LocalizedText | None = None  # when nothing was entered
    error_format: LocalizedText | None = None  # when the answer does not fit the pattern


@dataclass(frozen=True)
class OidcClient:
    """An OpenID Connect client's registration: what the hub's OIDC front end checks and releases.

    The client's journey runs as a `RelyingParty` (`RelyingParty.oidc` is this): its redirect URIs are its
    assertion consumer services, its levels those of its vectors of trust.
    """

    client_id: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    sector_identifier: str
    vectors_of_trust: tuple[vot.Vector, ...]  # allowed; the first is the default when a request has no vtr
    claims: tuple[str, ...]  # from OIDC_CLAIMS
    return_codes: bool
    jwks: Any = field(default=None, compare=False, repr=False)  # joserfc KeySet, from the configured file
    jwks_uri: str | None = None
    backchannel_logout_uri: str | None = None


@dataclass(frozen=True)
class RelyingParty:
    name: str
    entity_id: str
    display_name: LocalizedText
    assertion_consumer_services: tuple[AssertionConsumerService, ...]
    levels_of_assurance: tuple[LevelOfAssurance, ...]
    matching_service_entity_id: str | None
    cycle3_attribute: Cycle3Attribute | None
    account_creation_attributes: tuple[str, ...]
    service_home_url: str
    other_ways: LocalizedText
    signing_certificates: tuple[Certificate, ...]
    encryption_certificate: Certificate | None
    saml_profile: SamlProfile = SamlProfile.VERIFY
    key_transport: KeyTransport = KeyTransport.RSA_OAEP  # for every assertion encrypted for this service
    attributes: tuple[str, ...] = ()  # standard profile: what it receives, from STANDARD_ATTRIBUTES
    oidc: OidcClient | None = None  # an OpenID Connect client (oidc_clients), not a SAML service
    # Where a company's "prove your identity for this service" link sends the citizen after the hub's page
    # (the single-company start): the service's own start page, on the same site as service_home_url.
    single_idp_start_url: str | None = None

    @property
    def minimum_level(self) -> LevelOfAssurance:
        return min(self.levels_of_assurance)

    @property
    def uses_matching(self) -> bool:
        return self.matching_service_entity_id is not None

    def default_acs_url(self) -> str:
        return next(acs.url for acs in self.assertion_consumer_services if acs.is_default)

    def acs_url(self, index: int | None) -> str | None:
        """The URL for an AuthnRequest's AssertionConsumerServiceIndex; None if the RP has no such index."""
        if index is None:
            return self.default_acs_url()
        return next((acs.url for acs in self.assertion_consumer_services if acs.index == index), None)


@dataclass(frozen=True)
class IdentityProvider:
    name: str
    entity_id: str
    display_name: LocalizedText
    levels_of_assurance: tuple[LevelOfAssurance, ...]
    enabled: bool
    onboarding_for: tuple[str, ...]  # RP entity IDs this IDP is limited to while onboarding; empty = all
    registration_cutoff: datetime | None
    sign_in_cutoff: datetime | None
    temporarily_unavailable: bool
    sso_url: str
    authn_context_comparison: Literal["minimum", "exact"]
    signing_certificates: tuple[Certificate, ...]
    encryption_certificate: Certificate
    # What helps a citizen choose (all optional): who the company is, and what it will ask for. A company
    # accepts any one of its documents and any one of its phones; an empty list means it asks for none.
    description: LocalizedText | None = None
    accepts_documents: tuple[str, ...] = ()
    accepts_phones: tuple[str, ...] = ()
    needs_uk_address: bool = False
    metadata_url: str | None = None  # the company's own metadata, which the hub's probe fetches (optional)


@dataclass(frozen=True)
class MatchingService:
    name: str
    entity_id: str
    attribute_query_url: str
    account_creation_url: str
    local_matching_url: str  # BUILTIN_LOCAL_MATCHER, or the http(s) URL of a matcher of its own
    signing_certificates: tuple[Certificate, ...]
    encryption_certificate: Certificate
    key_transport: KeyTransport = KeyTransport.RSA_OAEP  # for what the hub encrypts for it

    @property
    def uses_builtin_local_matcher(self) -> bool:
        """True when the matching service calls the built-in local matcher in its own process (no network)."""
        return self.local_matching_url == BUILTIN_LOCAL_MATCHER


@dataclass(frozen=True)
class Hub:
    entity_id: str
    base_url: str
    sso_url: str
    response_url: str
    metadata_url: str
    signing_certificates: tuple[Certificate, ...]
    encryption_certificates: tuple[Certificate, ...]  # primary, then the secondary decryption key if any
    name: str = "hub"
    # OpenID Connect: the keys that sign ID tokens, identity JWTs and logout tokens (current, then next)
    oidc_signing_certificates: tuple[Certificate, ...] = ()


@dataclass(frozen=True)
class MetadataSettings:
    signing_certificate: Certificate
    trust_anchor: Certificate
    valid_for: timedelta
    refresh_interval_seconds: int


@dataclass(frozen=True)
class Operator:
    """Who runs this deployment, for the citizen pages every service must have (help, privacy notice,
    accessibility statement): its name, how to contact it, and the data controller of the personal data."""

    name: LocalizedText
    contact_email: str
    privacy_controller: LocalizedText
    data_protection_email: str


DEMO_OPERATOR = Operator(
    name=LocalizedText(en="The identity federation (demonstration)", cy="Y ffederasiwn hunaniaeth (arddangosiad)"),
    contact_email="help@federation.test",
    privacy_controller=LocalizedText(
        en="The federation operator (demonstration)", cy="Gweithredwr y ffederasiwn (arddangosiad)"
    ),
    data_protection_email="data-protection@federation.test",
)


Entity = Hub | RelyingParty | IdentityProvider | MatchingService


@dataclass(frozen=True)
class FederationConfig:
    source: Path
    hub: Hub
    relying_parties: tuple[RelyingParty, ...]
    identity_providers: tuple[IdentityProvider, ...]
    matching_services: tuple[MatchingService, ...]
    metadata: MetadataSettings
    clock_skew: timedelta = timedelta(seconds=30)
    session_lifetime: timedelta = timedelta(minutes=90)
    matching_service_timeout_seconds: float = 5.0
    operator: Operator = DEMO_OPERATOR

    @cached_property
    def _by_entity_id(self) -> dict[str, Entity]:
        entities: list[Entity] = [self.hub, *self.relying_parties, *self.identity_providers]
        entities.extend(self.matching_services)
        return {entity.entity_id: entity for entity in entities}

    def entity(self, entity_id: str) -> Entity | None:
        return self._by_entity_id.get(entity_id)

    def relying_party(self, entity_id: str) -> RelyingParty | None:
        found = self._by_entity_id.get(entity_id)
        return found if isinstance(found, RelyingParty) else None

    def identity_provider(self, entity_id: str) -> IdentityProvider | None:
        found = self._by_entity_id.get(entity_id)
        return found if isinstance(found, IdentityProvider) else None

    @property
    def oidc_clients(self) -> tuple[RelyingParty, ...]:
        return tuple(rp for rp in self.relying_parties if rp.oidc is not None)

    def oidc_client(self, client_id: object) -> RelyingParty | None:
        """The OpenID Connect client registered as `client_id` (None for SAML services and unknown IDs)."""
        found = self._by_entity_id.get(client_id) if isinstance(client_id, str) else None
        return found if isinstance(found, RelyingParty) and found.oidc is not None else None

    def matching_service(self, entity_id: str) -> MatchingService | None:
        found = self._by_entity_id.get(entity_id)
        return found if isinstance(found, MatchingService) else None

    def entity_certificates(self, entity_id: str) -> tuple[Certificate, ...]:
        """Signing certificates of any entity (hub included): the keys its signatures may verify with."""
        found = self._by_entity_id.get(entity_id)
        return found.signing_certificates if found is not None else ()


# --------------------------------------------------------------------------------------------- errors


class ConfigError(Exception):
    def __init__(self, path: Path, entity: str, field: str | None, problem: str, *, kind: str | None = None) -> None:
        self.path = path
        self.entity = entity
        self.field = field
        self.problem = problem
        where = f"{kind} '{entity}'" if kind else entity
        message = f"{path}: {where}"
        if field:
            message += f", field '{field}'"
        super().__init__(f"{message}: {problem}")


# --------------------------------------------------------------------------------------------- YAML


# libyaml's parser when available (about ten times faster); the pure-Python one otherwise.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """Safe YAML that refuses duplicate keys (a silent override is a typo waiting to happen) and keeps
    dates as text, so that every date goes through one parser with one error message."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _SafeLoader.yaml_implicit_resolvers.items()
}


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "federation", None, f"cannot read the file: {exc}") from exc
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, "federation", None, f"YAML syntax error at {where}{problem}") from exc


# --------------------------------------------------------------------------------------------- reading

_PLACEHOLDER = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")
_NAME = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
_MISSING: Any = object()


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"text {value!r}"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


@dataclass
class _Context:
    """What every field reader needs: where we are, the variables, the keys and the clock."""

    path: Path
    keys_dir: Path
    variables: Mapping[str, str]
    now: datetime
    cert_cache: dict[Path, Certificate]


class _Fields:
    """Typed access to one mapping of the YAML file, raising errors that name file, entity and field."""

    def __init__(
        self,
        ctx: _Context,
        data: Any,
        *,
        entity: str,
        kind: str | None,
        allowed: frozenset[str],
        prefix: str = "",
    ) -> None:
        self.ctx = ctx
        self.entity = entity
        self.kind = kind
        self.allowed = allowed
        self.prefix = prefix
        if not isinstance(data, dict):
            raise self.error("", f"expected a mapping of fields, got {_type_name(data)}")
        self.data: dict[Any, Any] = data

    def named(self, entity: str, kind: str | None) -> _Fields:
        return _Fields(self.ctx, self.data, entity=entity, kind=kind, allowed=self.allowed, prefix=self.prefix)

    def qualified(self, key: str) -> str:
        return f"{self.prefix}{key}" if key else self.prefix.rstrip(".") or ""

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.ctx.path, self.entity, self.qualified(key) or None, problem, kind=self.kind)

    def check_unknown(self) -> None:
        for key in self.data:
            if key not in self.allowed:
                hint = difflib.get_close_matches(str(key), sorted(self.allowed), n=1)
                suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
                raise self.error(str(key), f"unknown field{suggestion}")

    def nested(self, key: str, allowed: frozenset[str], value: Any = _MISSING) -> _Fields:
        data = self.raw(key) if value is _MISSING else value
        nested = _Fields(
            self.ctx, data, entity=self.entity, kind=self.kind, allowed=allowed, prefix=f"{self.qualified(key)}."
        )
        nested.check_unknown()
        return nested

    # -- raw values

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        value = self.data.get(key)
        if value is None:
            if default is _MISSING:
                raise self.error(key, "missing required field")
            return default
        return value

    def expand(self, key: str, value: str) -> str:
        unmatched = _PLACEHOLDER.sub("", value)
        if "${" in unmatched:
            raise self.error(key, "malformed ${...} placeholder (expected ${NAME} or ${NAME:-default})")

        def substitute(match: re.Match[str]) -> str:
            found = self.ctx.variables.get(match["name"])
            if found:
                return found
            if match["default"] is not None:
                return match["default"]
            raise self.error(key, f"variable {match['name']} is not set and has no default")

        return _PLACEHOLDER.sub(substitute, value)

    def as_string(self, key: str, value: Any) -> str:
        if not isinstance(value, str):
            raise self.error(key, f"expected text, got {_type_name(value)}")
        text = self.expand(key, value).strip()
        if not text:
            raise self.error(key, "must not be empty")
        return text

    def as_url(self, key: str, value: Any) -> str:
        url = self.as_string(key, value)
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise self.error(key, f"invalid URL {url!r}: {exc}") from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise self.error(key, f"{url!r} is not an absolute http(s) URL")
        if parts.fragment or any(ch.isspace() for ch in url):
            raise self.error(key, f"{url!r} must not contain a fragment or whitespace")
        return url

    # -- typed fields

    def string(self, key: str, default: Any = _MISSING) -> Any:
        value = self.raw(key, default)
        return value if value is default else self.as_string(key, value)

    def url(self, key: str) -> str:
        return self.as_url(key, self.raw(key))

    def entity_id(self, key: str = "entity_id") -> str:
        value = self.string(key)
        scheme = urlsplit(value).scheme
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme or "") or any(c.isspace() for c in value):
            raise self.error(key, f"entity ID {value!r} is not an absolute URI")
        if len(value) > 1024:
            raise self.error(key, "entity ID is longer than 1024 characters")
        return value

    def name(self, key: str = "name") -> str:
        value = self.string(key)
        if not _NAME.fullmatch(value):
            raise self.error(key, f"{value!r} is not a short name (lower-case letters, digits and hyphens)")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {_type_name(value)}")
        return value

    def integer(self, key: str, default: Any = _MISSING, *, minimum: int = 0) -> int:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected a whole number, got {_type_name(value)}")
        if value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value}")
        return value

    def number(self, key: str, default: Any = _MISSING, *, positive: bool = True) -> float:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"expected a number, got {_type_name(value)}")
        if value < 0 or (positive and value == 0):
            raise self.error(key, f"must be {'greater than' if positive else 'at least'} 0, got {value}")
        return float(value)

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.string(key, default)
        if value not in choices:
            raise self.error(key, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def moment(self, key: str) -> datetime | None:
        value = self.raw(key, None)
        if value is None:
            return None
        text = self.as_string(key, value) if isinstance(value, str) else value
        if not isinstance(text, str):
            raise self.error(key, f"expected an ISO 8601 date or date-time, got {_type_name(value)}")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise self.error(key, f"invalid date {text!r} (expected ISO 8601, e.g. 2030-01-31)") from None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def items(self, key: str, default: Any = _MISSING, *, non_empty: bool = False) -> list[Any]:
        value = self.raw(key, default)
        if not isinstance(value, list):
            raise self.error(key, f"expected a list, got {_type_name(value)}")
        if non_empty and not value:
            raise self.error(key, "must list at least one entry")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        values = self.items(key, [])
        result = tuple(self.as_string(f"{key}[{i}]", value) for i, value in enumerate(values))
        for i, value in enumerate(result):
            if value in result[:i]:
                raise self.error(f"{key}[{i}]", f"{value!r} is listed twice")
        return result

    def localized(self, key: str) -> LocalizedText:
        text = self.nested(key, frozenset({"en", "cy"}))
        return LocalizedText(en=text.string("en"), cy=text.string("cy"))

    def levels(self, key: str = "levels_of_assurance") -> tuple[LevelOfAssurance, ...]:
        levels: list[LevelOfAssurance] = []
        for i, value in enumerate(self.items(key, non_empty=True)):
            name = self.as_string(f"{key}[{i}]", value)
            try:
                level = LevelOfAssurance.from_name(name)
            except ValueError as exc:
                raise self.error(key, str(exc)) from None
            if level in levels:
                raise self.error(key, f"{name} is listed twice")
            levels.append(level)
        return tuple(sorted(levels))

    def certificate(self, key: str, value: Any = _MISSING) -> Certificate:
        relative = self.as_string(key, self.raw(key) if value is _MISSING else value)
        path = (self.ctx.keys_dir / relative).resolve()
        cert = self.ctx.cert_cache.get(path)
        if cert is None:
            try:
                pem = path.read_bytes()
            except FileNotFoundError:
                raise self.error(key, f"certificate file {relative!r} not found in {self.ctx.keys_dir}") from None
            except OSError as exc:
                raise self.error(key, f"cannot read certificate file {relative!r}: {exc}") from None
            try:
                loaded = x509.load_pem_x509_certificate(pem)
            except ValueError:
                raise self.error(key, f"{relative!r} is not a PEM X.509 certificate") from None
            cert = self.ctx.cert_cache[path] = Certificate(path=path, certificate=loaded, pem=pem)
        if cert.not_after <= self.ctx.now:
            raise self.error(key, f"certificate {relative!r} expired on {cert.not_after:%Y-%m-%d %H:%M} UTC")
        if cert.not_before > self.ctx.now:
            raise self.error(key, f"certificate {relative!r} is not valid until {cert.not_before:%Y-%m-%d %H:%M} UTC")
        return cert

    def certificates(self, key: str) -> tuple[Certificate, ...]:
        values = self.items(key, non_empty=True)
        if len(values) > MAX_SIGNING_CERTIFICATES:
            raise self.error(
                key, f"lists {len(values)} certificates; at most {MAX_SIGNING_CERTIFICATES} (current and next)"
            )
        return tuple(self.certificate(f"{key}[{i}]", value) for i, value in enumerate(values))


# --------------------------------------------------------------------------------------------- sections

_TOP_LEVEL = frozenset(
    {
        "federation",
        "metadata",
        "hub",
        "relying_parties",
        "oidc_clients",
        "identity_providers",
        "matching_services",
        "operator",
    }
)
_OPERATOR = frozenset({"name", "contact_email", "privacy_controller", "data_protection_email"})
_FEDERATION = frozenset({"clock_skew_seconds", "session_lifetime_minutes", "matching_service_timeout_seconds"})
_METADATA = frozenset({"signing_certificate", "trust_anchor", "valid_for_hours", "refresh_interval_seconds"})
_HUB = frozenset(
    {"entity_id", "base_url", "signing_certificates", "encryption_certificates", "oidc_signing_certificates"}
)
_ENTITY = "name entity_id signing_certificates encryption_certificate"
_MATCHING_SERVICE = frozenset(
    f"{_ENTITY} attribute_query_url account_creation_url local_matching_url key_transport".split()
)
_RELYING_PARTY = frozenset(
    f"{_ENTITY} display_name assertion_consumer_services levels_of_assurance matching_service_entity_id "
    "cycle3_attribute account_creation_attributes service_home_url other_ways saml_profile key_transport "
    "attributes single_idp_start_url".split()
)
_OIDC_CLIENT = frozenset(
    "name client_id display_name redirect_uris post_logout_redirect_uris jwks jwks_uri sector_identifier "
    "vectors_of_trust claims return_codes backchannel_logout_uri matching_service_entity_id cycle3_attribute "
    "account_creation_attributes service_home_url other_ways single_idp_start_url".split()
)
_CLIENT_ID = re.compile(r"[\x21-\x7e]{1,255}")
_ACS = frozenset({"index", "url", "is_default"})
_CYCLE3 = frozenset({"name", "pattern", "label", "hint", "example", "error_missing", "error_format"})
_IDENTITY_PROVIDER = frozenset(
    f"{_ENTITY} display_name levels_of_assurance enabled onboarding_for registration_cutoff sign_in_cutoff "
    "temporarily_unavailable sso_url authn_context_comparison description accepts_documents accepts_phones "
    "needs_uk_address metadata_url".split()
)
# what a company may ask for, in the words of the "will it work for me" questions (hub/policy/suitability.py)
DOCUMENTS = ("uk_passport", "uk_photocard_licence", "non_uk_passport", "non_uk_identity_card")
PHONES = ("smartphone", "mobile", "landline")


class _Registry:
    """Entity IDs and short names seen so far, so a duplicate is reported where it is introduced."""

    def __init__(self) -> None:
        self.entity_ids: dict[str, str] = {}
        self.names: dict[str, str] = {}

    def add(self, fields: _Fields, entity_id: str, name: str, where: str) -> None:
        if entity_id in self.entity_ids:
            raise fields.error("entity_id", f"entity ID is already used by {self.entity_ids[entity_id]}")
        if name in self.names:
            raise fields.error("name", f"name {name!r} is already used by {self.names[name]}")
        self.entity_ids[entity_id] = where
        self.names[name] = where


def _entity_fields(ctx: _Context, data: Any, section: str, index: int, kind: str, allowed: frozenset[str]) -> _Fields:
    """Read the entity ID first so that every later error can name the entity."""
    fields = _Fields(ctx, data, entity=f"{section}[{index}]", kind=None, allowed=allowed)
    fields = fields.named(fields.entity_id(), kind)
    fields.check_unknown()
    return fields


def _operator(top: _Fields) -> Operator:
    """The optional `operator` section; the demonstration operator when absent."""
    if top.raw("operator", None) is None:
        return DEMO_OPERATOR
    fields = top.nested("operator", _OPERATOR)
    return Operator(
        name=fields.localized("name"),
        contact_email=_email(fields, "contact_email"),
        privacy_controller=fields.localized("privacy_controller"),
        data_protection_email=_email(fields, "data_protection_email"),
    )


def _email(fields: _Fields, key: str) -> str:
    value = fields.string(key)
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise fields.error(key, f"not an email address: {value!r}")
    return value


def _metadata(top: _Fields) -> MetadataSettings:
    fields = top.nested("metadata", _METADATA)
    return MetadataSettings(
        signing_certificate=fields.certificate("signing_certificate"),
        trust_anchor=fields.certificate("trust_anchor"),
        valid_for=timedelta(hours=fields.number("valid_for_hours")),
        refresh_interval_seconds=fields.integer("refresh_interval_seconds", minimum=1),
    )


def _hub(ctx: _Context, data: Any, registry: _Registry) -> Hub:
    fields = _Fields(ctx, data, entity="hub", kind=None, allowed=_HUB)
    fields.check_unknown()
    entity_id = fields.entity_id()
    base_url = fields.url("base_url").rstrip("/")
    registry.add(fields, entity_id, "hub", "the hub")
    return Hub(
        entity_id=entity_id,
        base_url=base_url,
        sso_url=base_url + HUB_SSO_PATH,
        response_url=base_url + HUB_RESPONSE_PATH,
        metadata_url=base_url + HUB_METADATA_PATH,
        signing_certificates=fields.certificates("signing_certificates"),
        encryption_certificates=fields.certificates("encryption_certificates"),
        oidc_signing_certificates=(
            fields.certificates("oidc_signing_certificates") if fields.raw("oidc_signing_certificates", None) else ()
        ),
    )


def _matching_service(ctx: _Context, data: Any, index: int, registry: _Registry) -> MatchingService:
    fields = _entity_fields(ctx, data, "matching_services", index, "matching service", _MATCHING_SERVICE)
    entity_id, name = fields.entity, fields.name()
    registry.add(fields, entity_id, name, f"matching_services[{index}]")
    return MatchingService(
        name=name,
        entity_id=entity_id,
        attribute_query_url=fields.url("attribute_query_url"),
        account_creation_url=fields.url("account_creation_url"),
        local_matching_url=_local_matching_url(fields),
        signing_certificates=fields.certificates("signing_certificates"),
        encryption_certificate=fields.certificate("encryption_certificate"),
        key_transport=_key_transport(fields),
    )


def _local_matching_url(fields: _Fields) -> str:
    """`builtin:` (explicitly: a forgotten setting must not silently swap a department's matcher), or a URL."""
    if fields.string("local_matching_url") == BUILTIN_LOCAL_MATCHER:
        return BUILTIN_LOCAL_MATCHER
    return fields.url("local_matching_url")


def _key_transport(fields: _Fields) -> KeyTransport:
    return KeyTransport(fields.choice("key_transport", tuple(KeyTransport), KeyTransport.RSA_OAEP))


def _standard_attributes(fields: _Fields, profile: SamlProfile) -> tuple[str, ...]:
    """The identity attributes a standard service receives; a verify service gets the assertions instead."""
    attributes = fields.strings("attributes")
    if attributes and profile is not SamlProfile.STANDARD:
        raise fields.error(
            "attributes",
            "only a relying party with saml_profile: standard lists attributes "
            "(a verify service receives the assertions themselves)",
        )
    for i, attribute in enumerate(attributes):
        if attribute not in STANDARD_ATTRIBUTES:
            known = ", ".join(STANDARD_ATTRIBUTES)
            raise fields.error(f"attributes[{i}]", f"unknown attribute {attribute!r} ({known})")
    return attributes


def _assertion_consumer_services(fields: _Fields) -> tuple[AssertionConsumerService, ...]:
    key = "assertion_consumer_services"
    services: list[AssertionConsumerService] = []
    for i, value in enumerate(fields.items(key, non_empty=True)):
        acs = fields.nested(f"{key}[{i}]", _ACS, value)
        index = acs.integer("index", minimum=0)
        if index > 65535:
            raise acs.error("index", f"must be at most 65535, got {index}")
        if any(existing.index == index for existing in services):
            raise acs.error("index", f"index {index} is used by another assertion consumer service")
        services.append(AssertionConsumerService(index, acs.url("url"), acs.boolean("is_default", False)))
    defaults = [acs for acs in services if acs.is_default]
    if len(defaults) > 1:
        raise fields.error(key, f"{len(defaults)} services are marked is_default; at most one may be")
    if not defaults:  # SAML metadata rule: with no explicit default, the first listed is the default
        services[0] = AssertionConsumerService(services[0].index, services[0].url, True)
    return tuple(services)


def _cycle3(fields: _Fields) -> Cycle3Attribute | None:
    if fields.raw("cycle3_attribute", None) is None:
        return None
    cycle3 = fields.nested("cycle3_attribute", _CYCLE3)
    pattern = cycle3.string("pattern")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise cycle3.error("pattern", f"not a valid regular expression: {exc}") from None
    return Cycle3Attribute(
        name=cycle3.string("name"),
        pattern=pattern,
        label=cycle3.localized("label"),
        hint=cycle3.localized("hint"),
        example=cycle3.localized("example") if cycle3.raw("example", None) is not None else None,
        error_missing=cycle3.localized("error_missing") if cycle3.raw("error_missing", None) is not None else None,
        error_format=cycle3.localized("error_format") if cycle3.raw("error_format", None) is not None else None,
    )


def _relying_party(
    ctx: _Context, data: Any, index: int, registry: _Registry, matching: dict[str, MatchingService]
) -> RelyingParty:
    fields = _entity_fields(ctx, data, "relying_parties", index, "relying party", _RELYING_PARTY)
    entity_id, name = fields.entity, fields.name()
    registry.add(fields, entity_id, name, f"relying_parties[{index}]")
    matching_service, cycle3, account_creation = _matching_settings(fields, matching)
    profile = SamlProfile(fields.choice("saml_profile", tuple(SamlProfile), SamlProfile.VERIFY))
    attributes = _standard_attributes(fields, profile)
    encryption = fields.certificate("encryption_certificate") if fields.raw("encryption_certificate", None) else None
    if encryption is None and profile is SamlProfile.STANDARD:
        raise fields.error(
            "encryption_certificate",
            "missing required field (a standard service receives the hub's assertion encrypted for itself)",
        )
    if encryption is None and matching_service is None:
        raise fields.error(
            "encryption_certificate",
            "missing required field (a relying party without a matching service "
            "receives the identity provider's assertions encrypted for itself)",
        )
    return RelyingParty(
        name=name,
        entity_id=entity_id,
        display_name=fields.localized("display_name"),
        assertion_consumer_services=_assertion_consumer_services(fields),
        levels_of_assurance=fields.levels(),
        matching_service_entity_id=matching_service,
        cycle3_attribute=cycle3,
        account_creation_attributes=account_creation,
        service_home_url=fields.url("service_home_url"),
        other_ways=fields.localized("other_ways"),
        signing_certificates=fields.certificates("signing_certificates"),
        encryption_certificate=encryption,
        single_idp_start_url=_single_idp_start_url(fields),
        saml_profile=profile,
        key_transport=_key_transport(fields),
        attributes=attributes,
    )


def _matching_settings(
    fields: _Fields, matching: dict[str, MatchingService]
) -> tuple[str | None, Cycle3Attribute | None, tuple[str, ...]]:
    """A service's matching service, cycle 3 question and account-creation attributes, checked together."""
    matching_service = fields.string("matching_service_entity_id", None)
    if matching_service is not None and matching_service not in matching:
        raise fields.error("matching_service_entity_id", f"no matching service {matching_service!r} is configured")
    cycle3 = _cycle3(fields)
    account_creation = fields.strings("account_creation_attributes")
    for i, attribute in enumerate(account_creation):
        if attribute not in ACCOUNT_CREATION_ATTRIBUTES:
            known = ", ".join(sorted(ACCOUNT_CREATION_ATTRIBUTES))
            raise fields.error(f"account_creation_attributes[{i}]", f"unknown attribute {attribute!r} ({known})")
    if matching_service is None:
        for key, present in (("cycle3_attribute", cycle3), ("account_creation_attributes", account_creation)):
            if present:
                raise fields.error(key, "only a relying party with a matching service can use this")
    return matching_service, cycle3, account_creation


def _single_idp_start_url(fields: _Fields) -> str | None:
    """Optional; an absolute URL on the service's own site (scheme, host and port of service_home_url),
    so that the hub's single-company start can only ever send a citizen on to the service itself."""
    if fields.raw("single_idp_start_url", None) is None:
        return None
    url = fields.url("single_idp_start_url")
    home = urlsplit(fields.url("service_home_url"))
    start = urlsplit(url)
    if (start.scheme, start.hostname, start.port) != (home.scheme, home.hostname, home.port):
        raise fields.error("single_idp_start_url", f"{url!r} is not on the site of service_home_url")
    return url


def _urls(fields: _Fields, key: str, *, non_empty: bool) -> tuple[str, ...]:
    values = fields.items(key, _MISSING if non_empty else [], non_empty=non_empty)
    urls = tuple(fields.as_url(f"{key}[{i}]", value) for i, value in enumerate(values))
    for i, url in enumerate(urls):
        if url in urls[:i]:
            raise fields.error(f"{key}[{i}]", f"{url!r} is listed twice")
    return urls


def _vectors(fields: _Fields) -> tuple[vot.Vector, ...]:
    vectors: list[vot.Vector] = []
    for i, value in enumerate(fields.items("vectors_of_trust", non_empty=True)):
        try:
            vector = vot.parse_vector(value)
        except vot.VectorError as exc:
            raise fields.error(f"vectors_of_trust[{i}]", str(exc)) from None
        if vector in vectors:
            raise fields.error(f"vectors_of_trust[{i}]", f"{vector} is listed twice")
        vectors.append(vector)
    return tuple(vectors)


def _client_keys(fields: _Fields) -> tuple[Any, str | None]:
    """The client's keys for `private_key_jwt`: a JWK Set file, or the URL it publishes one at."""
    has_file, has_uri = fields.raw("jwks", None) is not None, fields.raw("jwks_uri", None) is not None
    if has_file == has_uri:
        raise fields.error("jwks", "give exactly one of jwks (a JWK Set file) and jwks_uri")
    if has_uri:
        return None, fields.url("jwks_uri")
    relative = fields.string("jwks")
    try:
        return load_jwks_file(fields.ctx.keys_dir / relative), None
    except CredentialError as exc:
        raise fields.error("jwks", str(exc)) from None


def _oidc_client(
    ctx: _Context, data: Any, index: int, registry: _Registry, matching: dict[str, MatchingService], hub: Hub
) -> RelyingParty:
    fields = _Fields(ctx, data, entity=f"oidc_clients[{index}]", kind=None, allowed=_OIDC_CLIENT)
    client_id = fields.string("client_id")
    if not _CLIENT_ID.fullmatch(client_id):
        raise fields.error("client_id", "must be 1 to 255 visible ASCII characters, no spaces")
    fields = fields.named(client_id, "OpenID Connect client")
    fields.check_unknown()
    name = fields.name()
    registry.add(fields, client_id, name, f"oidc_clients[{index}]")
    if not hub.oidc_signing_certificates:
        raise fields.error("client_id", "the hub lists no oidc_signing_certificates to sign this client's tokens")
    matching_service, cycle3, account_creation = _matching_settings(fields, matching)
    redirect_uris = _urls(fields, "redirect_uris", non_empty=True)
    jwks, jwks_uri = _client_keys(fields)
    vectors = _vectors(fields)
    claims = fields.strings("claims")
    for i, claim in enumerate(claims):
        if claim not in OIDC_CLAIMS:
            raise fields.error(f"claims[{i}]", f"unknown claim {claim!r} ({', '.join(OIDC_CLAIMS)})")
    if claims and not any(vector.needs_identity for vector in vectors):
        raise fields.error("claims", "identity claims need a vector of trust with identity confidence (e.g. Cl.Cm.P2)")
    sector = fields.string("sector_identifier")
    if not urlsplit(sector).scheme or any(ch.isspace() for ch in sector):
        raise fields.error("sector_identifier", f"{sector!r} is not an absolute URI")
    backchannel = fields.url("backchannel_logout_uri") if fields.raw("backchannel_logout_uri", None) else None
    client = OidcClient(
        client_id=client_id,
        redirect_uris=redirect_uris,
        post_logout_redirect_uris=_urls(fields, "post_logout_redirect_uris", non_empty=False),
        sector_identifier=sector,
        vectors_of_trust=vectors,
        claims=claims,
        return_codes=fields.boolean("return_codes", False),
        jwks=jwks,
        jwks_uri=jwks_uri,
        backchannel_logout_uri=backchannel,
    )
    return RelyingParty(
        name=name,
        entity_id=client_id,
        display_name=fields.localized("display_name"),
        assertion_consumer_services=tuple(
            AssertionConsumerService(i, url, i == 0) for i, url in enumerate(redirect_uris)
        ),
        levels_of_assurance=vot.levels_for(vectors),
        matching_service_entity_id=matching_service,
        cycle3_attribute=cycle3,
        account_creation_attributes=account_creation,
        service_home_url=fields.url("service_home_url"),
        other_ways=fields.localized("other_ways"),
        single_idp_start_url=_single_idp_start_url(fields),
        signing_certificates=(),  # never a SAML issuer: its AuthnRequests are refused
        # A matching service encrypts its assertion for the service's SAML end, which for a client is the hub.
        encryption_certificate=hub.encryption_certificates[0],
        oidc=client,
    )


def _identity_provider(
    ctx: _Context, data: Any, index: int, registry: _Registry, relying_parties: set[str]
) -> IdentityProvider:
    fields = _entity_fields(ctx, data, "identity_providers", index, "identity provider", _IDENTITY_PROVIDER)
    entity_id, name = fields.entity, fields.name()
    registry.add(fields, entity_id, name, f"identity_providers[{index}]")
    onboarding_for = fields.strings("onboarding_for")
    for i, rp in enumerate(onboarding_for):
        if rp not in relying_parties:
            raise fields.error(f"onboarding_for[{i}]", f"no relying party {rp!r} is configured")
    comparison = fields.choice("authn_context_comparison", ("minimum", "exact"), "minimum")
    return IdentityProvider(
        name=name,
        entity_id=entity_id,
        display_name=fields.localized("display_name"),
        levels_of_assurance=fields.levels(),
        enabled=fields.boolean("enabled", True),
        onboarding_for=onboarding_for,
        registration_cutoff=fields.moment("registration_cutoff"),
        sign_in_cutoff=fields.moment("sign_in_cutoff"),
        temporarily_unavailable=fields.boolean("temporarily_unavailable", False),
        sso_url=fields.url("sso_url"),
        authn_context_comparison=comparison,  # type: ignore[arg-type]
        signing_certificates=fields.certificates("signing_certificates"),
        encryption_certificate=fields.certificate("encryption_certificate"),
        description=fields.localized("description") if fields.raw("description", None) is not None else None,
        accepts_documents=_vocabulary(fields, "accepts_documents", DOCUMENTS),
        accepts_phones=_vocabulary(fields, "accepts_phones", PHONES),
        needs_uk_address=fields.boolean("needs_uk_address", False),
        metadata_url=fields.url("metadata_url") if fields.raw("metadata_url", None) is not None else None,
    )


def _vocabulary(fields: _Fields, key: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    values = fields.strings(key) if fields.raw(key, None) is not None else ()
    for i, value in enumerate(values):
        if value not in allowed:
            raise fields.error(f"{key}[{i}]", f"{value!r} is not one of {', '.join(allowed)}")
    return values


# --------------------------------------------------------------------------------------------- API


def load_federation_config(
    path: Path,
    *,
    keys_dir: Path,
    variables: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> FederationConfig:
    """Load and validate the whole federation; raise ConfigError on the first mistake."""
    path = Path(path)
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    ctx = _Context(
        path=path,
        keys_dir=Path(keys_dir),
        variables=os.environ if variables is None else variables,
        now=now,
        cert_cache={},
    )
    top = _Fields(ctx, _read_yaml(path), entity="federation", kind=None, allowed=_TOP_LEVEL)
    top.check_unknown()
    settings = top.nested("federation", _FEDERATION, top.raw("federation", {}))

    registry = _Registry()
    hub = _hub(ctx, top.raw("hub"), registry)
    matching_services = tuple(
        _matching_service(ctx, data, i, registry) for i, data in enumerate(top.items("matching_services", []))
    )
    by_id = {ms.entity_id: ms for ms in matching_services}
    relying_parties = tuple(
        _relying_party(ctx, data, i, registry, by_id)
        for i, data in enumerate(top.items("relying_parties", non_empty=True))
    ) + tuple(_oidc_client(ctx, data, i, registry, by_id, hub) for i, data in enumerate(top.items("oidc_clients", [])))
    rp_ids = {rp.entity_id for rp in relying_parties}
    identity_providers = tuple(
        _identity_provider(ctx, data, i, registry, rp_ids)
        for i, data in enumerate(top.items("identity_providers", non_empty=True))
    )
    return FederationConfig(
        source=path,
        hub=hub,
        relying_parties=relying_parties,
        identity_providers=identity_providers,
        matching_services=matching_services,
        metadata=_metadata(top),
        clock_skew=timedelta(seconds=settings.number("clock_skew_seconds", 30, positive=False)),
        session_lifetime=timedelta(minutes=settings.number("session_lifetime_minutes", 90)),
        matching_service_timeout_seconds=settings.number("matching_service_timeout_seconds", 5),
        operator=_operator(top),
    )


def _all_certificates(config: FederationConfig) -> Iterator[tuple[str, Certificate]]:
    hub = config.hub
    for cert in (*hub.signing_certificates, *hub.encryption_certificates, *hub.oidc_signing_certificates):
        yield hub.entity_id, cert
    entities: list[RelyingParty | IdentityProvider | MatchingService] = [
        *config.relying_parties,
        *config.identity_providers,
        *config.matching_services,
    ]
    for entity in entities:
        for cert in entity.signing_certificates:
            yield entity.entity_id, cert
        if entity.encryption_certificate is not None and getattr(entity, "oidc", None) is None:  # a client's: the hub's
            yield entity.entity_id, entity.encryption_certificate
    yield "metadata", config.metadata.signing_certificate
    yield "metadata", config.metadata.trust_anchor


def expiring_certificates(
    config: FederationConfig, within: timedelta = timedelta(days=30), now: datetime | None = None
) -> list[tuple[str, Certificate]]:
    """(entity ID or "metadata", certificate) for each certificate expiring within `within`, soonest first."""
    limit = (now or datetime.now(UTC)) + within
    seen: set[tuple[str, Path]] = set()
    found: list[tuple[str, Certificate]] = []
    for entity, cert in _all_certificates(config):
        if cert.not_after <= limit and (entity, cert.path) not in seen:
            seen.add((entity, cert.path))
            found.append((entity, cert))
    return sorted(found, key=lambda item: item[1].not_after)
