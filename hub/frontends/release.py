"""What a service receives when the journey succeeds: shown to the citizen, who agrees before it is sent.

Derived from the service's configuration, the same configuration the front ends send by, so the page and
the message cannot disagree: a `verify` service with a matching service gets a reference to the record its
matching service found and the level (plus the details its matching service returns for a new account); a
`verify` service without one gets everything the certified company verified (the IDP's own assertions); a
`standard` service gets a pairwise identifier, the level and exactly the attributes it lists; an OpenID
Connect client gets a pairwise `sub`, the vector of trust reached and the identity claims it asked for and
is registered for.
"""

from __future__ import annotations

from federation.config import CORE_IDENTITY_CLAIM, RelyingParty
from federation.saml.constants import SamlProfile

# message keys under release.items.* (hub/templates/release.html)
_STANDARD = {
    "first_name": "first_name",
    "middle_names": "middle_names",
    "surname": "surname",
    "date_of_birth": "date_of_birth",
    "gender": "gender",
    "address_lines": "address",
    "postcode": "postcode",
    "uprn": "uprn",
}
_ACCOUNT_CREATION = {
    "FIRST_NAME": "first_name",
    "MIDDLE_NAME": "middle_names",
    "SURNAME": "surname",
    "DATE_OF_BIRTH": "date_of_birth",
    "CURRENT_ADDRESS": "address",
    "ADDRESS_HISTORY": "address_history",
    "CYCLE_3": "cycle3",
}
_WHOLE_DATASET = ("name", "date_of_birth", "gender", "address", "address_history")
_OIDC = {
    "given_name": "first_name",
    "family_name": "surname",
    "birthdate": "date_of_birth",
    "address": "address",
    CORE_IDENTITY_CLAIM: "name_history",
}


def released_items(
    rp: RelyingParty, *, account_created: bool = False, oidc_claims: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """The kinds of information the service receives, in the order to show them (message keys).

    `oidc_claims`: for an OpenID Connect client, the identity claims its request asked for and its
    registration allows (the session's `oidc_request.claims`)."""
    items = ["identifier", "level"]
    if rp.oidc is not None:
        items.extend(_OIDC[claim] for claim in oidc_claims if claim in _OIDC)
        if CORE_IDENTITY_CLAIM in oidc_claims:
            items.append("date_of_birth")
    elif rp.saml_profile is SamlProfile.STANDARD:
        items.extend(_STANDARD[name] for name in rp.attributes if name in _STANDARD)
    elif rp.matching_service_entity_id is None:
        items.extend(_WHOLE_DATASET)
    elif account_created:
        items.extend(_ACCOUNT_CREATION[name] for name in rp.account_creation_attributes if name in _ACCOUNT_CREATION)
    return tuple(dict.fromkeys(items))
