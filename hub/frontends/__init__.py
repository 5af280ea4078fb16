"""Service-facing front ends: how a service starts a journey with the hub, and how the journey's end is
rendered for it. The journey itself (states, rules, the IDP and matching steps) is the same for all.

OpenID Connect (`oidc/`) is the other: a client's authorization request starts the journey, and its end
is an authorization code. SAML is one front end with two profiles per service (`saml_profile` in the federation config):
`verify` relays the matching service's own signed assertion, or the IDP's two assertions, to the service
(end-to-end trust; read with the client library); `standard` sends one assertion the hub issues and signs,
which any SAML service-provider library reads. None of them holds journey rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from federation.config import RelyingParty
from federation.saml.constants import SamlProfile
from hub.engines.idp import Keep


@dataclass(frozen=True)
class PostForm:
    """An auto-posting form (SAML HTTP-POST binding) that takes the journey's answer to the service."""

    action: str
    fields: tuple[tuple[str, str], ...]


def keep_for(rp: RelyingParty) -> Keep:
    """What the journey must keep from the IDP's success for this service's front end.

    An OpenID Connect client keeps the release (the PID its pairwise `sub` is derived from, and the identity
    for the claims it may receive); the answer takes from it only what the client gets, then it is deleted.
    """
    if rp.oidc is not None:
        return Keep(idp_assertions_for_service=False, identity=True)
    if rp.saml_profile is SamlProfile.STANDARD:
        return Keep(idp_assertions_for_service=False, identity=True)
    return Keep(idp_assertions_for_service=rp.matching_service_entity_id is None, identity=False)
