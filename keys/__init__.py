"""Development PKI: `federation-keys generate DIR`, plus helpers that mint keys and certificates for tests."""

from keys.pki import issue, issue_certificate, make_self_signed

__all__ = ["issue", "issue_certificate", "make_self_signed"]
