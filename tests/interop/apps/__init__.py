"""Third-party SAML software against the real hub: small Flask apps written as a department or an identity
provider would write them, from our docs only, with python3-saml or pysaml2 and their documented APIs.

They import nothing of this repository (no `federation`, no `hub_client`): what they know of the hub comes
from the signed federation metadata and from docs/saml-profiles.md and docs/idp-profile.md.
"""
