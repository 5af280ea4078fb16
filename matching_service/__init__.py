"""The department's matching service: the SAML AttributeQuery endpoint and the local matcher.

The local matcher (`local_matcher`, over the records in `records`, deciding with `matching_rule`) serves the
JSON contract in `local_matching_contract`; the SAML side calls it through `LocalMatcherClient`.
"""
