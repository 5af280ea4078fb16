"""The seed corpus: valid messages for every target, made with real keys at the start of a run.

Each seed is a mode byte (see targets.py) followed by a message its receiver accepts at `ctx.now`.
"""

from __future__ import annotations

from pathlib import Path

from federation import xmlsecurity
from federation.loa import LevelOfAssurance
from federation.metadata import build_federation_metadata
from federation.saml import (
    Attribute,
    build_assertion,
    build_attribute_query,
    build_authn_request,
    encode_post,
    encode_redirect,
    new_id,
    reencrypt_assertion,
    soap,
)
from federation.saml import constants as c
from federation.saml.assertion import mds_attributes
from stub_idps.responses import HubEndpoint, IdpSigner, Outcome, build_idp_response
from stub_idps.users import load_users, pid_for
from tests.fuzz.targets import HUB_REQUEST_ID, IDP, RELAY_STATE, Context


def _authn_requests(ctx: Context) -> list[bytes]:
    rp = ctx.config.relying_party("https://test-rp.federation.test")
    variants = [
        {},
        {"levels": [LevelOfAssurance.LEVEL_2], "comparison": "minimum"},
        {"levels": [LevelOfAssurance.LEVEL_1, LevelOfAssurance.LEVEL_2], "comparison": "exact", "force_authn": True},
        {"acs_index": 0},
        {"acs_url": rp.default_acs_url()},
    ]
    return [
        xmlsecurity.to_bytes(
            build_authn_request(
                issuer=rp.entity_id,
                destination=ctx.config.hub.sso_url,
                credential=ctx.rp_signing,
                now=ctx.now,
                **variant,
            )
        )
        for variant in variants
    ]


def authn_request_post(ctx: Context) -> list[bytes]:
    requests = _authn_requests(ctx)
    return (
        [b"\x00" + r for r in requests]
        + [b"\x01" + encode_post(r).encode() for r in requests]
        + [b"\x02" + r for r in requests]
    )


def authn_request_redirect(ctx: Context) -> list[bytes]:
    rp = ctx.config.relying_party("https://test-rp.federation.test")
    unsigned = [
        xmlsecurity.to_bytes(
            build_authn_request(
                issuer=rp.entity_id,
                destination=ctx.config.hub.sso_url,
                credential=ctx.rp_signing,
                now=ctx.now,
                levels=levels,
                sign=False,
            )
        )
        for levels in ([], [LevelOfAssurance.LEVEL_2])
    ]
    urls = [
        encode_redirect(ctx.config.hub.sso_url, xml, credential=ctx.rp_signing, relay_state=relay)
        for xml in unsigned
        for relay in (None, RELAY_STATE)
    ]
    return [b"\x00" + url.split("?", 1)[1].encode() for url in urls] + [b"\x01" + xml for xml in unsigned]


def _idp_assertions(ctx: Context) -> list[bytes]:
    hub = ctx.config.hub
    alice = next(u for u in load_users() if u.username == "alice")
    common = dict(
        issuer=ctx.idp_entity_id,
        name_id=pid_for(IDP, "alice"),
        audience=hub.entity_id,
        recipient=hub.response_url,
        in_response_to=HUB_REQUEST_ID,
        credential=ctx.idp_signing,
        now=ctx.now,
    )
    authn = build_assertion(
        level_of_assurance=LevelOfAssurance.LEVEL_2,
        attributes=(Attribute(c.TXN_IPADDRESS, ("192.0.2.1",)),),
        **common,
    )
    fraud = build_assertion(
        fraud=True,
        attributes=(Attribute(c.FECI_IDP_FRAUD_EVENT_ID, ("event-1",)), Attribute(c.FECI_GPG45_STATUS, ("DF01",))),
        **common,
    )
    mds = build_assertion(attributes=mds_attributes(alice.matching_dataset), **common)
    return [xmlsecurity.to_bytes(a) for a in (authn, fraud, mds)]


def idp_response(ctx: Context) -> list[bytes]:
    hub = ctx.config.hub
    endpoint = HubEndpoint(hub.entity_id, hub.response_url, hub.encryption_certificates[0].certificate)
    signer = IdpSigner(IDP, ctx.idp_entity_id, ctx.idp_signing)
    alice = next(u for u in load_users() if u.username == "alice")
    responses = [
        build_idp_response(
            outcome=outcome,
            idp=signer,
            hub=endpoint,
            in_response_to=HUB_REQUEST_ID,
            now=ctx.now,
            user=alice,
            level=LevelOfAssurance.LEVEL_2,
            ip_address="192.0.2.1",
        )
        for outcome in (Outcome.SUCCESS, Outcome.CANCEL, Outcome.FRAUD_FI01, Outcome.PENDING)
    ]
    assertions = _idp_assertions(ctx)
    return (
        [b"\x00" + r for r in responses]
        + [b"\x01" + encode_post(r).encode() for r in responses[:2]]
        + [b"\x02" + r for r in responses]
        + [b"\x03" + a for a in assertions]
        + [b"\x04" + a for a in assertions]
    )


def attribute_query(ctx: Context) -> list[bytes]:
    hub, ms = ctx.config.hub, ctx.ms
    rp = ctx.config.relying_party("https://test-rp.federation.test")
    plaintexts = _idp_assertions(ctx)
    carried = [plaintexts[0], plaintexts[2]]
    queries = [
        build_attribute_query(
            issuer=hub.entity_id,
            destination=ms.attribute_query_url,
            name_id=pid_for(IDP, "alice"),
            sp_name_qualifier=rp.entity_id,
            rp_acs_url=rp.default_acs_url(),
            rp_request_id=new_id(),
            not_on_or_after=ctx.now + ctx.config.clock_skew * 10,
            encrypted_assertions=[reencrypt_assertion(p, ms.encryption_certificate.certificate) for p in carried],
            credential=ctx.hub_signing,
            now=ctx.now,
            requested_attributes=requested,
        )
        for requested in ((), ("FIRST_NAME", "SURNAME"))
    ]
    return [b"\x00" + soap.wrap(q) for q in queries] + [b"\x01" + xmlsecurity.to_bytes(q) for q in queries]


def federation_metadata(ctx: Context) -> list[bytes]:
    document = build_federation_metadata(ctx.config, ctx.metadata_signing, chain=ctx.metadata_chain, now=ctx.now)
    return [b"\x00" + document, b"\x01" + document]


SEEDS = {
    "authn-request-post": authn_request_post,
    "authn-request-redirect": authn_request_redirect,
    "idp-response": idp_response,
    "attribute-query": attribute_query,
    "federation-metadata": federation_metadata,
}


def write_seeds(ctx: Context, target: str, directory: Path) -> int:
    """Write the target's seeds into `directory`; check each is accepted (else the corpus would be useless)."""
    from tests.fuzz.targets import TARGETS

    directory.mkdir(parents=True, exist_ok=True)
    accept = TARGETS[target](ctx)
    seeds = SEEDS[target](ctx)
    for i, seed in enumerate(seeds):
        accept(seed)  # raises if a seed is refused: a harness bug, reported at once
        (directory / f"seed-{i:03d}").write_bytes(seed)
    return len(seeds)
