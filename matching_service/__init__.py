"""The department's matching service: the SAML AttributeQuery endpoint and the local matcher.

Two processes. The matching service (`app`, the listener the hub reaches) validates the hub's AttributeQuery
(`attribute_query_endpoint`) and asks the local matcher through `local_matcher_client`. The local matcher
(`local_matcher_app`, a listener of its own on the department's network, behind the bearer token of
`local_matching_auth`) serves the JSON contract in `local_matching_contract` over the records in `records`,
deciding with `local_matcher.decide` and `matching_rule`.
"""
