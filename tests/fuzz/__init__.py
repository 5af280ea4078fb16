"""Fuzzing of the inbound parsers: `python -m tests.fuzz [--seconds N]` (or `make fuzz`).

Five targets, each fed from a seed corpus of valid messages made with freshly generated keys: the
AuthnRequest over HTTP-POST and over HTTP-Redirect, the IDP's Response, the SOAP AttributeQuery and the
federation metadata. Any exception other than a documented refusal (`SamlValidationError`,
`XmlSecurityError`, `MetadataError`) is a crash; its input is kept in `var/fuzz-crashes/`.

This package must not import `federation` at import time: the worker instruments it for coverage first.
"""
