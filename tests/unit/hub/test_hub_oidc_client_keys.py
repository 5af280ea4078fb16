"""A client's keys from its `jwks_uri`: fetched over real HTTP, cached, the last good set kept on failure,
and anything that is not a public JWK Set refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask

from hub.frontends.oidc import OAuthError
from hub.frontends.oidc.client_auth import JwksCache
from tests.support.serving import serving


def test_keys_are_fetched_cached_and_kept_when_the_client_fails(keys_dir: Path):
    public = json.loads((keys_dir / "test-rp-oidc-client.jwks.json").read_text())
    answers = {"body": json.dumps(public), "status": 200}
    app = Flask(__name__)

    @app.get("/jwks")
    def jwks():
        return answers["body"], answers["status"], {"Content-Type": "application/json"}

    with serving(app) as base:
        cache = JwksCache()
        first = cache.get(f"{base}/jwks")
        assert [key.kid for key in first.keys] == [public["keys"][0]["kid"]]
        answers["status"] = 500
        assert cache.get(f"{base}/jwks", refresh=True) is first  # the last good set
        fresh = JwksCache()
        with pytest.raises(OAuthError) as refused:
            fresh.get(f"{base}/jwks")
        assert refused.value.error == "invalid_client" and refused.value.status == 401
        answers.update(status=200, body=json.dumps({"keys": [{**public["keys"][0], "d": "c2VjcmV0"}]}))
        with pytest.raises(OAuthError):
            fresh.get(f"{base}/jwks")  # a private key published by mistake is never used
        answers["body"] = "x" * (70 * 1024)
        with pytest.raises(OAuthError):
            fresh.get(f"{base}/jwks")  # too large
