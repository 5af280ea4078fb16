"""The hub's client library: a department signs citizens in through the hub and writes no SAML.

    client = HubClient.for_service(config, "benefits-service", keys_dir)
    request_id, post = client.start_sign_in(relay_state)    # or start_sign_in_redirect: (id, URL)
    ...                                                      # keep request_id server-side, for this browser
    received = client.receive_response(form["SAMLResponse"])   # parsed once; received.in_response_to,
    ...                                                      # unverified, finds the attempt
    outcome = client.handle_response(received, expected_request_id=request_id_of_the_attempt)
    if outcome.scenario.is_verified:
        outcome.identifier, outcome.level_of_assurance, outcome.attributes
    else:
        outcome.return_code, outcome.offer                    # why not, and what to offer next
    # the answer came to a browser that did not start the sign-in: ask the hub whether the journey moved there
    url = client.moved_journey_check_url(request_id, nonce)  # the hub answers at your ACS, a GET
    statement = client.read_moved_journey(args[MOVED_JOURNEY_PARAMETER])   # .request_id, .nonce, .moved

It reads both profiles a service can receive (docs/saml-profiles.md), chosen by the service's
`saml_profile` in the federation config: `verify` (the matching service's assertion, or the identity
provider's two) and `standard` (one hub-signed assertion with typed attributes). Every message is
verified with keys from signed metadata and the config; anything that fails a check raises
`HubResponseError` with a short `reason` to log. The guide for departments is docs/client-library.md.
"""

from federation.moved_journey import MOVED_JOURNEY_PARAMETER, MovedJourney
from federation.saml.standard import ReleasedAttribute
from hub_client.client import HubClient, ReceivedResponse
from hub_client.errors import HubResponseError
from hub_client.outcome import Outcome, Scenario
from hub_client.return_codes import Offer, ReturnCode
from hub_client.sign_in import SamlPost, new_relay_state

__all__ = [
    "MOVED_JOURNEY_PARAMETER",
    "HubClient",
    "HubResponseError",
    "MovedJourney",
    "Offer",
    "Outcome",
    "ReceivedResponse",
    "ReleasedAttribute",
    "ReturnCode",
    "SamlPost",
    "Scenario",
    "new_relay_state",
]
