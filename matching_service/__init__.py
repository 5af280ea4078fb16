"""The department's matching service: the SAML AttributeQuery endpoint and the local matcher.

The matching service (`app`, the listener the hub reaches) validates the hub's AttributeQuery
(`attribute_query_endpoint`) and asks the local matcher, which answers the JSON contract in
`local_matching_contract` (`local_matching_answers`) over the records in `records`, deciding with
`local_matcher.decide` and `matching_rule`. The local matcher is called in process when the config says
`builtin:` (`local_matcher_inprocess`: no listener, no token), or over HTTP through `local_matcher_client`
(`local_matcher_app`, a listener of its own on the department's network behind the bearer token of
`local_matching_auth`, or a department's own matcher).
"""
