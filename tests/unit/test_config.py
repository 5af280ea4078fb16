"""Federation config: the demo loads into immutable objects, and each mistake names file, entity, field."""

from __future__ import annotations

import copy
import dataclasses
import functools
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from federation.config import (
    ConfigError,
    FederationConfig,
    IdentityProvider,
    RelyingParty,
    expiring_certificates,
    load_federation_config,
)
from federation.demo import DEMO_CONFIG
from federation.loa import LEVEL_X_URI, LevelOfAssurance
from federation.saml.constants import STANDARD_ATTRIBUTES, SamlProfile
from federation.xmlsecurity import KeyTransport
from keys.pki import make_self_signed

HUB = "https://hub.federation.test"
TEST_RP = "https://test-rp.federation.test"
NON_MATCHING_RP = "https://test-rp-nonmatching.federation.test"
NEW_ACCOUNTS_RP = "https://test-rp-new-accounts.federation.test"
STANDARD_RP = "https://test-rp-standard.federation.test"
MS = "https://test-rp-ms.federation.test"
IDP_ONE = "https://stub-idp-one.federation.test"
IDP_TWO = "https://stub-idp-two.federation.test"
IDP_THREE = "https://stub-idp-three.federation.test"


# ------------------------------------------------------------------------------------------ the demo


def test_demo_federation_loads(federation_config: FederationConfig) -> None:
    config = federation_config
    assert config.source == DEMO_CONFIG
    assert config.hub.entity_id == HUB
    assert config.hub.sso_url == "http://127.0.0.1:8080/SAML2/SSO"
    assert config.hub.response_url == "http://127.0.0.1:8080/SAML2/SSO/Response/POST"
    assert [c.path.name for c in config.hub.signing_certificates] == ["hub-signing.crt"]
    assert [c.path.name for c in config.hub.encryption_certificates] == ["hub-encryption.crt"]
    saml_services = [rp.entity_id for rp in config.relying_parties if rp.oidc is None]
    assert saml_services == [TEST_RP, NON_MATCHING_RP, NEW_ACCOUNTS_RP, STANDARD_RP]
    assert [rp.entity_id for rp in config.oidc_clients] == ["test-rp-oidc", "test-rp-oidc-matching"]
    assert [idp.entity_id for idp in config.identity_providers] == [IDP_ONE, IDP_TWO, IDP_THREE]
    assert [ms.entity_id for ms in config.matching_services] == [MS]
    assert config.metadata.signing_certificate.path.name == "metadata-signing.crt"
    assert config.metadata.trust_anchor.path.name == "root-ca.crt"
    assert config.metadata.valid_for == timedelta(hours=24)
    assert config.metadata.refresh_interval_seconds == 300
    assert config.clock_skew == timedelta(seconds=30)
    assert config.session_lifetime == timedelta(minutes=90)
    assert config.matching_service_timeout_seconds == 5.0


def test_demo_relying_parties(federation_config: FederationConfig) -> None:
    rp = federation_config.relying_party(TEST_RP)
    assert isinstance(rp, RelyingParty)
    assert rp.name == "test-rp"
    assert rp.levels_of_assurance == (LevelOfAssurance.LEVEL_2,)
    assert rp.minimum_level is LevelOfAssurance.LEVEL_2
    assert rp.matching_service_entity_id == MS and rp.uses_matching
    assert rp.account_creation_attributes == ()
    assert rp.default_acs_url() == "http://127.0.0.1:8083/SAML2/SSO/POST"
    assert rp.acs_url(None) == rp.acs_url(0) == rp.default_acs_url()
    assert rp.acs_url(7) is None
    assert rp.display_name.en and rp.display_name.cy and rp.display_name.en != rp.display_name.cy
    assert rp.other_ways.get("cy") == rp.other_ways.cy
    assert rp.service_home_url == "http://127.0.0.1:8083/"

    cycle3 = rp.cycle3_attribute
    assert cycle3 is not None and cycle3.name == "NationalInsuranceNumber"
    for valid in ("AB123456C", "AB 12 34 56 C", "JE123456D"):
        assert re.fullmatch(cycle3.pattern, valid), valid
    for invalid in ("GB123456A", "QQ123456C", "AB123456E", "AB12345C", "ab123456c", "AB123456C1"):
        assert not re.fullmatch(cycle3.pattern, invalid), invalid

    other = federation_config.relying_party(NON_MATCHING_RP)
    assert other is not None and other.name == "test-rp-non-matching"
    assert other.matching_service_entity_id is None and not other.uses_matching
    assert other.levels_of_assurance == (LevelOfAssurance.LEVEL_1, LevelOfAssurance.LEVEL_2)
    assert other.minimum_level is LevelOfAssurance.LEVEL_1
    assert other.cycle3_attribute is None and other.account_creation_attributes == ()
    assert other.encryption_certificate is not None
    *verify_services, standard = (rp for rp in federation_config.relying_parties if rp.oidc is None)
    for service in verify_services:  # the defaults: the Verify profile, XML-Enc 1.1 rsa-oaep
        assert service.saml_profile is SamlProfile.VERIFY and service.attributes == ()
        assert service.key_transport is KeyTransport.RSA_OAEP
    assert standard.name == "test-rp-standard" and standard.saml_profile is SamlProfile.STANDARD
    assert standard.attributes == ("first_name", "surname", "date_of_birth", "address_lines", "postcode")
    assert not standard.uses_matching and standard.key_transport is KeyTransport.RSA_OAEP
    assert standard.default_acs_url() == "http://127.0.0.1:8083/standard/SAML2/SSO/POST"
    assert standard.service_home_url == "http://127.0.0.1:8083/standard/"
    # the demo lets the non-matching RP share the example RP's certificate (loaded once)
    assert other.signing_certificates[0] is rp.signing_certificates[0]


def test_demo_identity_providers(federation_config: FederationConfig) -> None:
    one, two, three = federation_config.identity_providers
    assert one.display_name.en == "Stub IDP One" and one.display_name.cy == "IDP Bonyn Un"
    assert one.levels_of_assurance == (LevelOfAssurance.LEVEL_1,)
    assert two.levels_of_assurance == (LevelOfAssurance.LEVEL_1, LevelOfAssurance.LEVEL_2)
    assert three.levels_of_assurance == (LevelOfAssurance.LEVEL_2,)
    assert (one.authn_context_comparison, three.authn_context_comparison) == ("minimum", "exact")
    assert one.sso_url == "http://127.0.0.1:8081/stub-idp-one/SAML2/SSO"
    for idp in (one, two, three):
        assert idp.enabled and not idp.temporarily_unavailable
        assert idp.onboarding_for == () and idp.registration_cutoff is None and idp.sign_in_cutoff is None
        assert idp.signing_certificates[0].path.name == f"{idp.name}-signing.crt"
        assert idp.encryption_certificate.path.name == f"{idp.name}-encryption.crt"
    ms = federation_config.matching_service(MS)
    assert ms is not None
    assert ms.attribute_query_url == "http://127.0.0.1:8082/matching-service/POST"
    assert ms.account_creation_url == "http://127.0.0.1:8082/unknown-user-attribute-query"
    assert ms.local_matching_url == "builtin:" and ms.uses_builtin_local_matcher  # in process: no listener
    assert ms.key_transport is KeyTransport.RSA_OAEP


def test_config_is_immutable(federation_config: FederationConfig) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        federation_config.hub = None  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        federation_config.identity_providers[0].enabled = False  # type: ignore[misc]
    assert isinstance(federation_config.relying_parties, tuple)
    assert isinstance(federation_config.relying_parties[0].assertion_consumer_services, tuple)
    assert isinstance(federation_config.identity_providers[0].levels_of_assurance, tuple)


def test_lookups_by_entity_id(federation_config: FederationConfig) -> None:
    config = federation_config
    assert isinstance(config.identity_provider(IDP_TWO), IdentityProvider)
    # a lookup of one kind never returns an entity of another kind
    assert config.identity_provider(TEST_RP) is None
    assert config.relying_party(IDP_ONE) is None
    assert config.matching_service(HUB) is None
    assert config.relying_party("https://unknown.example") is None
    assert config.entity_certificates(HUB) == config.hub.signing_certificates
    assert config.entity_certificates(MS)[0].path.name == "test-rp-ms-signing.crt"
    assert config.entity_certificates(IDP_THREE)[0].path.name == "stub-idp-three-signing.crt"
    assert config.entity_certificates("https://unknown.example") == ()


def test_urls_come_from_variables_and_entity_ids_do_not(keys_dir: Path) -> None:
    config = load_federation_config(
        DEMO_CONFIG,
        keys_dir=keys_dir,
        variables={
            "HUB_URL": "http://localhost:5001",
            "IDP_URL": "http://localhost:5002",
            "MS_URL": "http://localhost:5003",
            "RP_URL": "https://rp.localhost:5004",
            "LOCAL_MATCHING_URL": "https://matcher.department.internal:5005/local-matching",
        },
    )
    assert config.hub.entity_id == HUB
    assert config.hub.response_url == "http://localhost:5001/SAML2/SSO/Response/POST"
    assert config.hub.metadata_url == "http://localhost:5001/SAML2/metadata/federation"
    assert config.identity_providers[1].sso_url == "http://localhost:5002/stub-idp-two/SAML2/SSO"
    assert config.matching_services[0].attribute_query_url == "http://localhost:5003/matching-service/POST"
    assert config.matching_services[0].local_matching_url == "https://matcher.department.internal:5005/local-matching"
    assert not config.matching_services[0].uses_builtin_local_matcher
    assert config.relying_parties[0].default_acs_url() == "https://rp.localhost:5004/SAML2/SSO/POST"
    assert config.relying_parties[0].entity_id == TEST_RP


def test_variables_default_to_the_environment(keys_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_URL", "http://idp.internal:9000")
    config = load_federation_config(DEMO_CONFIG, keys_dir=keys_dir)
    assert config.identity_providers[0].sso_url == "http://idp.internal:9000/stub-idp-one/SAML2/SSO"


def test_expiring_certificates(federation_config: FederationConfig) -> None:
    assert expiring_certificates(federation_config) == []
    leaf_expiry = federation_config.hub.signing_certificates[0].not_after
    soon = expiring_certificates(federation_config, now=leaf_expiry - timedelta(days=10))
    entities = {entity for entity, _ in soon}
    services = {TEST_RP, NON_MATCHING_RP, NEW_ACCOUNTS_RP, STANDARD_RP}
    assert {HUB, *services, MS, IDP_ONE, IDP_TWO, IDP_THREE, "metadata"} == entities
    names = {cert.path.name for _, cert in soon}
    assert "hub-signing.crt" in names and "stub-idp-two-encryption.crt" in names
    assert "root-ca.crt" not in names  # the trust anchor lives ten years
    assert [c.not_after for _, c in soon] == sorted(c.not_after for _, c in soon)


def test_certificates_not_yet_valid_at_the_given_time_are_refused(keys_dir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_federation_config(DEMO_CONFIG, keys_dir=keys_dir, variables={}, now=datetime.now(UTC) - timedelta(days=1))
    assert info.value.entity == "hub"
    assert info.value.field == "signing_certificates[0]"
    assert "is not valid until" in str(info.value)


def test_level_of_assurance_is_ordered_with_uris() -> None:
    assert LevelOfAssurance.LEVEL_1 < LevelOfAssurance.LEVEL_2 < LevelOfAssurance.LEVEL_4
    assert LevelOfAssurance.LEVEL_2.uri == "urn:uk:gov:cabinet-office:tc:saml:authn-context:level2"
    assert LevelOfAssurance.from_uri("urn:uk:gov:cabinet-office:tc:saml:authn-context:level3").name == "LEVEL_3"
    assert LevelOfAssurance.from_name("LEVEL_4") is LevelOfAssurance.LEVEL_4
    assert LEVEL_X_URI == "urn:uk:gov:cabinet-office:tc:saml:authn-context:levelX"
    for bad in (LEVEL_X_URI, "level1", ""):
        with pytest.raises(ValueError):
            LevelOfAssurance.from_uri(bad)
    for bad_name in ("LEVEL_X", "level_1", "LEVEL_5"):
        with pytest.raises(ValueError):
            LevelOfAssurance.from_name(bad_name)


# ------------------------------------------------------------------------------------------ mistakes

Mutation = Callable[[dict[str, Any], Path], None]


@functools.cache
def _demo_yaml() -> dict[str, Any]:
    return yaml.load(DEMO_CONFIG.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


def demo_data() -> dict[str, Any]:
    """A fresh copy of the demo YAML as plain data, for one test to break."""
    return copy.deepcopy(_demo_yaml())


def write_config(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "federation.yaml"
    text = yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def rp(data: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return data["relying_parties"][index]


def idp(data: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return data["identity_providers"][index]


def write_cert(directory: Path, name: str, *, days_from_now: tuple[int, int]) -> str:
    now = datetime.now(UTC)
    _, pem = make_self_signed(
        name, not_before=now + timedelta(days=days_from_now[0]), not_after=now + timedelta(days=days_from_now[1])
    )
    path = directory / f"{name}.crt"
    path.write_bytes(pem)
    return str(path)  # absolute: the shared keys directory stays untouched


def set_(path: str, value: Any) -> Mutation:
    """Mutation setting a dotted path such as 'relying_parties.0.levels_of_assurance'."""

    def mutate(data: dict[str, Any], _: Path) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


def delete(path: str) -> Mutation:
    def mutate(data: dict[str, Any], _: Path) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        del target[last]

    return mutate


def rename(path: str, old: str, new: str) -> Mutation:
    def mutate(data: dict[str, Any], _: Path) -> None:
        target: Any = data
        for part in path.split("."):
            target = target[int(part)] if isinstance(target, list) else target[part]
        target[new] = target.pop(old)

    return mutate


def add_acs(**acs: Any) -> Mutation:
    def mutate(data: dict[str, Any], _: Path) -> None:
        rp(data)["assertion_consumer_services"].append(acs)

    return mutate


def expired_hub_cert(data: dict[str, Any], tmp: Path) -> None:
    data["hub"]["signing_certificates"] = [write_cert(tmp, "expired", days_from_now=(-30, -1))]


def future_idp_cert(data: dict[str, Any], tmp: Path) -> None:
    idp(data, 1)["encryption_certificate"] = write_cert(tmp, "future", days_from_now=(2, 400))


def garbage_cert(data: dict[str, Any], tmp: Path) -> None:
    (tmp / "garbage.crt").write_text("this is not a certificate\n")
    data["matching_services"][0]["encryption_certificate"] = str(tmp / "garbage.crt")


def duplicate_entity_id(data: dict[str, Any], _: Path) -> None:
    idp(data, 2)["entity_id"] = IDP_TWO


def duplicate_with_hub(data: dict[str, Any], _: Path) -> None:
    data["matching_services"][0]["entity_id"] = HUB
    rp(data)["matching_service_entity_id"] = HUB


def duplicate_name(data: dict[str, Any], _: Path) -> None:
    idp(data, 1)["name"] = "stub-idp-one"


def standard(index: int, **fields: Any) -> Mutation:
    """Mutation making relying party `index` a standard-profile service, with `fields` set or (None) removed."""

    def mutate(data: dict[str, Any], _: Path) -> None:
        service = rp(data, index)
        service["saml_profile"] = "standard"
        for key, value in fields.items():
            if value is None:
                service.pop(key, None)
            else:
                service[key] = value

    return mutate


# (id, mutation, entity, field, fragments expected in the message)
MISTAKES: list[tuple[str, Mutation, str, str, tuple[str, ...]]] = [
    (
        "unknown level of assurance",
        set_("relying_parties.0.levels_of_assurance", ["LEVEL_9"]),
        TEST_RP,
        "levels_of_assurance",
        ("relying party", "unknown level 'LEVEL_9' (expected LEVEL_1..LEVEL_4)"),
    ),
    (
        "relative ACS URL",
        set_("relying_parties.0.assertion_consumer_services.0.url", "/SAML2/SSO/POST"),
        TEST_RP,
        "assertion_consumer_services[0].url",
        ("not an absolute http(s) URL",),
    ),
    (
        "non-http SSO URL",
        set_("identity_providers.1.sso_url", "ftp://idp.example/sso"),
        IDP_TWO,
        "sso_url",
        ("identity provider", "not an absolute http(s) URL"),
    ),
    (
        "matching service URL without a host",
        set_("matching_services.0.attribute_query_url", "http:///matching-service/POST"),
        MS,
        "attribute_query_url",
        ("matching service", "not an absolute http(s) URL"),
    ),
    (
        "local matcher neither builtin: nor a URL",  # a typo must not quietly become the built-in matcher
        set_("matching_services.0.local_matching_url", "built-in"),
        MS,
        "local_matching_url",
        ("matching service", "not an absolute http(s) URL"),
    ),
    (
        "hub base URL is not a URL",
        set_("hub.base_url", "hub.federation.test:8080"),
        "hub",
        "base_url",
        ("not an absolute http(s) URL",),
    ),
    (
        "unknown matching service",
        set_("relying_parties.0.matching_service_entity_id", "https://nowhere.federation.test"),
        TEST_RP,
        "matching_service_entity_id",
        ("no matching service 'https://nowhere.federation.test'",),
    ),
    ("duplicate entity ID", duplicate_entity_id, IDP_TWO, "entity_id", ("already used by identity_providers[1]",)),
    ("entity ID shared with the hub", duplicate_with_hub, HUB, "entity_id", ("already used by the hub",)),
    ("duplicate short name", duplicate_name, IDP_TWO, "name", ("'stub-idp-one' is already used",)),
    (
        "certificate file missing",
        set_("identity_providers.0.signing_certificates.0", "stub-idp-won-signing.crt"),
        IDP_ONE,
        "signing_certificates[0]",
        ("'stub-idp-won-signing.crt' not found",),
    ),
    ("certificate expired", expired_hub_cert, "hub", "signing_certificates[0]", ("expired on",)),
    ("certificate not yet valid", future_idp_cert, IDP_TWO, "encryption_certificate", ("is not valid until",)),
    (
        "private key instead of certificate",
        set_("relying_parties.0.encryption_certificate", "test-rp-encryption.key"),
        TEST_RP,
        "encryption_certificate",
        ("is not a PEM X.509 certificate",),
    ),
    ("certificate file not PEM", garbage_cert, MS, "encryption_certificate", ("is not a PEM X.509 certificate",)),
    (
        "three signing certificates",
        set_("identity_providers.2.signing_certificates", ["stub-idp-three-signing.crt"] * 3),
        IDP_THREE,
        "signing_certificates",
        ("at most 2",),
    ),
    (
        "no signing certificate",
        set_("relying_parties.1.signing_certificates", []),
        NON_MATCHING_RP,
        "signing_certificates",
        ("at least one",),
    ),
    ("missing SSO URL", delete("identity_providers.1.sso_url"), IDP_TWO, "sso_url", ("missing required field",)),
    (
        "missing Welsh display name",
        delete("relying_parties.0.display_name.cy"),
        TEST_RP,
        "display_name.cy",
        ("missing required field",),
    ),
    (
        "typo in a field name",
        rename("relying_parties.0", "levels_of_assurance", "level_of_assurance"),
        TEST_RP,
        "level_of_assurance",
        ("unknown field; did you mean 'levels_of_assurance'?",),
    ),
    (
        "typo in a nested field name",
        rename("relying_parties.0.cycle3_attribute", "pattern", "patern"),
        TEST_RP,
        "cycle3_attribute.patern",
        ("unknown field",),
    ),
    (
        "quoted yes for a boolean",
        set_("identity_providers.0.enabled", "yes"),
        IDP_ONE,
        "enabled",
        ("expected true or false, got text 'yes'",),
    ),
    (
        "text for a number",
        set_("federation.clock_skew_seconds", "thirty"),
        "federation",
        "federation.clock_skew_seconds",
        ("expected a number",),
    ),
    (
        "levels given as a single string",
        set_("identity_providers.1.levels_of_assurance", "LEVEL_1"),
        IDP_TWO,
        "levels_of_assurance",
        ("expected a list",),
    ),
    (
        "cycle 3 pattern not a regex",
        set_("relying_parties.0.cycle3_attribute.pattern", "^[A-Z{2}[0-9]{6}$("),
        TEST_RP,
        "cycle3_attribute.pattern",
        ("not a valid regular expression",),
    ),
    (
        "onboarding for an unknown RP",
        set_("identity_providers.2.onboarding_for", [TEST_RP, "https://test-rp.federation.tset"]),
        IDP_THREE,
        "onboarding_for[1]",
        ("no relying party 'https://test-rp.federation.tset'",),
    ),
    (
        "duplicate ACS index",
        add_acs(index=0, url="http://127.0.0.1:8083/other"),
        TEST_RP,
        "assertion_consumer_services[1].index",
        ("index 0 is used by another",),
    ),
    (
        "two default ACS",
        add_acs(index=1, url="http://127.0.0.1:8083/other", is_default=True),
        TEST_RP,
        "assertion_consumer_services",
        ("at most one",),
    ),
    (
        "empty levels of assurance",
        set_("identity_providers.0.levels_of_assurance", []),
        IDP_ONE,
        "levels_of_assurance",
        ("at least one",),
    ),
    (
        "invalid date",
        set_("identity_providers.1.registration_cutoff", "2030-02-30"),
        IDP_TWO,
        "registration_cutoff",
        ("invalid date '2030-02-30'",),
    ),
    (
        "unknown comparison",
        set_("identity_providers.2.authn_context_comparison", "maximum"),
        IDP_THREE,
        "authn_context_comparison",
        ("'maximum' is not one of minimum, exact",),
    ),
    (
        "unknown document",
        set_("identity_providers.1.accepts_documents", ["uk_passport", "library_card"]),
        IDP_TWO,
        "accepts_documents[1]",
        ("'library_card' is not one of uk_passport",),
    ),
    (
        "unknown phone",
        set_("identity_providers.1.accepts_phones", ["pager"]),
        IDP_TWO,
        "accepts_phones[0]",
        ("'pager' is not one of smartphone",),
    ),
    (
        "unknown account creation attribute",
        set_("relying_parties.0.account_creation_attributes", ["FIRST_NAME", "SURNAME", "POSTCODE"]),
        TEST_RP,
        "account_creation_attributes[2]",
        ("unknown attribute 'POSTCODE'",),
    ),
    (
        "non-matching RP without encryption certificate",
        delete("relying_parties.1.encryption_certificate"),
        NON_MATCHING_RP,
        "encryption_certificate",
        ("missing required field",),
    ),
    (
        "cycle 3 without a matching service",
        delete("relying_parties.0.matching_service_entity_id"),
        TEST_RP,
        "cycle3_attribute",
        ("only a relying party with a matching service",),
    ),
    (
        "unknown SAML profile",
        set_("relying_parties.0.saml_profile", "saml2"),
        TEST_RP,
        "saml_profile",
        ("relying party", "'saml2' is not one of verify, standard"),
    ),
    (
        "SAML profile in capitals",
        set_("relying_parties.1.saml_profile", "STANDARD"),
        NON_MATCHING_RP,
        "saml_profile",
        ("'STANDARD' is not one of verify, standard",),
    ),
    (
        "unknown key transport for a relying party",
        set_("relying_parties.1.key_transport", "rsa-1_5"),
        NON_MATCHING_RP,
        "key_transport",
        ("'rsa-1_5' is not one of rsa-oaep, rsa-oaep-mgf1p",),
    ),
    (
        "key transport given as a URI",
        set_("relying_parties.0.key_transport", "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"),
        TEST_RP,
        "key_transport",
        ("is not one of rsa-oaep, rsa-oaep-mgf1p",),
    ),
    (
        "unknown key transport for a matching service",
        set_("matching_services.0.key_transport", "rsa-oaep-sha256"),
        MS,
        "key_transport",
        ("matching service", "'rsa-oaep-sha256' is not one of rsa-oaep, rsa-oaep-mgf1p"),
    ),
    (
        "key transport not text",
        set_("matching_services.0.key_transport", ["rsa-oaep"]),
        MS,
        "key_transport",
        ("expected text, got a list",),
    ),
    (
        "attributes on a verify service",
        set_("relying_parties.1.attributes", ["first_name"]),
        NON_MATCHING_RP,
        "attributes",
        ("only a relying party with saml_profile: standard lists attributes",),
    ),
    (
        "attributes on a service that leaves the profile to its default",
        set_("relying_parties.0.attributes", ["surname"]),
        TEST_RP,
        "attributes",
        ("(a verify service receives the assertions themselves)",),
    ),
    (
        "unknown standard attribute",
        standard(1, attributes=["first_name", "FIRST_NAME"]),
        NON_MATCHING_RP,
        "attributes[1]",
        ("unknown attribute 'FIRST_NAME' (first_name, middle_names, surname, date_of_birth, gender,",),
    ),
    (
        "Verify MDS name as a standard attribute",
        standard(0, attributes=["MDS_firstname"]),
        TEST_RP,
        "attributes[0]",
        ("unknown attribute 'MDS_firstname'",),
    ),
    (
        "standard attribute listed twice",
        standard(1, attributes=["postcode", "surname", "postcode"]),
        NON_MATCHING_RP,
        "attributes[2]",
        ("'postcode' is listed twice",),
    ),
    (
        "standard attributes not a list",
        standard(1, attributes="first_name surname"),
        NON_MATCHING_RP,
        "attributes",
        ("expected a list, got text 'first_name surname'",),
    ),
    (
        "standard attribute not text",
        standard(1, attributes=["surname", 7]),
        NON_MATCHING_RP,
        "attributes[1]",
        ("expected text, got number 7",),
    ),
    (
        "standard service with a matching service but no encryption certificate",
        standard(0, encryption_certificate=None),
        TEST_RP,
        "encryption_certificate",
        ("missing required field (a standard service receives the hub's assertion encrypted for itself)",),
    ),
    (
        "typo in the SAML profile field",
        rename("relying_parties.1", "levels_of_assurance", "saml_profiles"),
        NON_MATCHING_RP,
        "saml_profiles",
        ("unknown field; did you mean 'saml_profile'?",),
    ),
    (
        "metadata trust anchor missing",
        delete("metadata.trust_anchor"),
        "federation",
        "metadata.trust_anchor",
        ("missing required field",),
    ),
    (
        "unset variable without default",
        set_("hub.base_url", "${HUB_ORIGIN}"),
        "hub",
        "base_url",
        ("variable HUB_ORIGIN is not set",),
    ),
    (
        "entity ID not a URI",
        set_("matching_services.0.entity_id", "test rp ms"),
        "matching_services[0]",
        "entity_id",
        ("is not an absolute URI",),
    ),
    (
        "unknown top-level section",
        lambda data, _: data.update(identity_provider=[]),
        "federation",
        "identity_provider",
        ("did you mean 'identity_providers'?",),
    ),
]


@pytest.mark.parametrize(
    ("mutate", "entity", "field", "fragments"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES]
)
def test_mistake_names_file_entity_and_field(
    tmp_path: Path, keys_dir: Path, mutate: Mutation, entity: str, field: str, fragments: tuple[str, ...]
) -> None:
    data = demo_data()
    mutate(data, tmp_path)
    path = write_config(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_federation_config(path, keys_dir=keys_dir, variables={})
    error = info.value
    message = str(error)
    assert message.startswith(f"{path}: ")
    assert (error.path, error.entity, error.field) == (path, entity, field)
    assert f"'{entity}'" in message or f"{path}: {entity}," in message
    assert f"field '{field}'" in message
    for fragment in fragments:
        assert fragment in message


def test_message_reads_naturally(tmp_path: Path, keys_dir: Path) -> None:
    data = demo_data()
    rp(data)["levels_of_assurance"] = ["LEVEL_9"]
    path = write_config(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_federation_config(path, keys_dir=keys_dir, variables={})
    assert str(info.value) == (
        f"{path}: relying party '{TEST_RP}', field 'levels_of_assurance': "
        "unknown level 'LEVEL_9' (expected LEVEL_1..LEVEL_4)"
    )


def test_yaml_syntax_error_reports_the_line(tmp_path: Path, keys_dir: Path) -> None:
    lines = DEMO_CONFIG.read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines) if line.startswith("hub:")) + 2
    assert lines[number].startswith("  base_url:")
    lines[number] = " " + lines[number]  # indented one space too far
    path = tmp_path / "federation.yaml"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_federation_config(path, keys_dir=keys_dir, variables={})
    assert info.value.entity == "federation"
    assert f"YAML syntax error at line {number + 1}, column " in str(info.value)
    assert str(path) in str(info.value)


def test_duplicate_yaml_key_is_refused_with_its_line(tmp_path: Path, keys_dir: Path) -> None:
    text = DEMO_CONFIG.read_text(encoding="utf-8").replace(
        "    authn_context_comparison: exact\n",
        "    authn_context_comparison: exact\n    authn_context_comparison: minimum\n",
    )
    path = tmp_path / "federation.yaml"
    path.write_text(text, encoding="utf-8")
    expected_line = text.splitlines().index("    authn_context_comparison: exact") + 2
    with pytest.raises(ConfigError, match=rf"line {expected_line}, column 5: duplicate key 'authn_context_comparison'"):
        load_federation_config(path, keys_dir=keys_dir, variables={})


def test_missing_file(tmp_path: Path, keys_dir: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the file") as info:
        load_federation_config(tmp_path / "absent.yaml", keys_dir=keys_dir, variables={})
    assert info.value.entity == "federation"


def test_valid_cutoffs_and_onboarding_are_parsed(tmp_path: Path, keys_dir: Path) -> None:
    data = demo_data()
    idp(data, 1).update(
        registration_cutoff="2030-01-31", sign_in_cutoff="2031-06-01T12:00:00+01:00", onboarding_for=[TEST_RP]
    )
    idp(data, 0).update(enabled=False, temporarily_unavailable=True)
    del idp(data, 2)["authn_context_comparison"]
    config = load_federation_config(write_config(tmp_path, data), keys_dir=keys_dir, variables={})
    two = config.identity_providers[1]
    assert two.registration_cutoff == datetime(2030, 1, 31, tzinfo=UTC)
    assert two.sign_in_cutoff == datetime(2031, 6, 1, 11, 0, tzinfo=UTC)
    assert two.onboarding_for == (TEST_RP,)
    assert not config.identity_providers[0].enabled and config.identity_providers[0].temporarily_unavailable
    assert config.identity_providers[2].authn_context_comparison == "minimum"  # the default


def test_second_signing_certificate_and_acs_without_explicit_default(tmp_path: Path, keys_dir: Path) -> None:
    data = demo_data()
    data["hub"]["signing_certificates"].append("hub-oidc-signing-next.crt")
    rp(data)["assertion_consumer_services"] = [
        {"index": 3, "url": "http://127.0.0.1:8083/a"},
        {"index": 1, "url": "http://127.0.0.1:8083/b"},
    ]
    config = load_federation_config(write_config(tmp_path, data), keys_dir=keys_dir, variables={})
    assert [c.path.name for c in config.entity_certificates(HUB)] == ["hub-signing.crt", "hub-oidc-signing-next.crt"]
    test_rp = config.relying_parties[0]
    assert test_rp.default_acs_url() == "http://127.0.0.1:8083/a"  # the first listed, as in SAML metadata
    assert test_rp.acs_url(1) == "http://127.0.0.1:8083/b"


def test_standard_services_with_and_without_a_matching_service(tmp_path: Path, keys_dir: Path) -> None:
    data = demo_data()
    standard(0, attributes=["surname", "date_of_birth"], key_transport="rsa-oaep-mgf1p")(data, tmp_path)
    standard(1, attributes=list(STANDARD_ATTRIBUTES))(data, tmp_path)
    standard(2)(data, tmp_path)  # no attributes: the NameID and the level only
    data["matching_services"][0]["key_transport"] = "rsa-oaep-mgf1p"
    config = load_federation_config(write_config(tmp_path, data), keys_dir=keys_dir, variables={})
    matching, non_matching, bare, _demo_standard = (rp for rp in config.relying_parties if rp.oidc is None)
    assert matching.saml_profile is SamlProfile.STANDARD and matching.uses_matching
    assert matching.attributes == ("surname", "date_of_birth")  # in the order the service listed them
    assert matching.key_transport is KeyTransport.RSA_OAEP_MGF1P
    assert matching.cycle3_attribute is not None  # the hub still asks its question
    assert non_matching.saml_profile is SamlProfile.STANDARD and not non_matching.uses_matching
    assert non_matching.attributes == STANDARD_ATTRIBUTES
    assert non_matching.key_transport is KeyTransport.RSA_OAEP
    assert bare.saml_profile is SamlProfile.STANDARD and bare.attributes == ()
    assert config.matching_services[0].key_transport is KeyTransport.RSA_OAEP_MGF1P


def test_verify_is_the_default_profile_and_may_be_named(tmp_path: Path, keys_dir: Path) -> None:
    data = demo_data()
    rp(data, 0).update(saml_profile="verify", key_transport="rsa-oaep-mgf1p", attributes=[])
    config = load_federation_config(write_config(tmp_path, data), keys_dir=keys_dir, variables={})
    assert config.relying_parties[0].saml_profile is SamlProfile.VERIFY
    assert config.relying_parties[0].key_transport is KeyTransport.RSA_OAEP_MGF1P
    assert config.relying_parties[0].attributes == ()


@pytest.mark.parametrize(
    ("mutation", "field", "problem"),
    [
        (set_("oidc_clients.0.vectors_of_trust", ["Cl.P2"]), "vectors_of_trust[0]", "needs Cl.Cm"),
        (set_("oidc_clients.0.vectors_of_trust", ["Cl.Cm", "Cl.Cm"]), "vectors_of_trust[1]", "listed twice"),
        (set_("oidc_clients.0.claims", ["email"]), "claims[0]", "unknown claim 'email'"),
        (set_("oidc_clients.0.jwks_uri", "https://rp.example/jwks"), "jwks", "exactly one of jwks"),
        (set_("oidc_clients.0.jwks", "no-such.jwks.json"), "jwks", "cannot be read"),
        (set_("oidc_clients.0.jwks", "test-rp-oidc-client.key"), "jwks", "not JSON"),
        (set_("oidc_clients.0.redirect_uris", []), "redirect_uris", "at least one"),
        (set_("oidc_clients.0.redirect_uris", ["/callback"]), "redirect_uris[0]", "absolute http(s) URL"),
        (set_("oidc_clients.0.sector_identifier", "not a uri"), "sector_identifier", "absolute URI"),
        (set_("oidc_clients.0.client_id", "https://test-rp.federation.test"), "entity_id", "already used"),
        (set_("oidc_clients.1.matching_service_entity_id", "https://nowhere.test"), "matching_service_entity_id", "no"),
        (set_("oidc_clients.0.vectors_of_trust", ["Cl.Cm"]), "claims", "identity claims need"),
        (delete("hub.oidc_signing_certificates"), "client_id", "oidc_signing_certificates"),
        (set_("oidc_clients.0.redirect_url", "x"), "redirect_url", "did you mean 'redirect_uris'"),
    ],
)
def test_oidc_client_mistakes_name_the_client_and_field(tmp_path, keys_dir, mutation, field, problem):
    data = demo_data()
    mutation(data, tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_federation_config(write_config(tmp_path, data), keys_dir=keys_dir, variables={})
    assert caught.value.field == field and problem in caught.value.problem, str(caught.value)
    assert "OpenID Connect client" in str(caught.value) or caught.value.entity.startswith("oidc_clients")
