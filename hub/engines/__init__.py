"""The hub's protocol engines: SAML messages in and out, typed outcomes (`hub.policy.outcomes`) to the journey.

They hold the keys and speak the protocol, as the GOV.UK Verify hub's SAML engine did apart from its
policy; they never change a session. `idp`: an identity provider's Response; `matching`: the AttributeQuery
to a matching service and its answer.
"""
