"""The compliance tool behind `federation check-idp` and `federation check-service`.

It plays the hub toward one identity provider or one service in a running (integration) federation, runs
the profile's scenarios, and reports what passed and what to fix. It reads every message with the same
`federation.saml` code the hub and the services use, so a refusal it reports is the one the hub would log.
"""
