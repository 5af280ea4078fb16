"""A department's Flask service signing citizens in over OpenID Connect, with authlib's client.

Register the client in the federation config (`oidc_clients`, docs/oidc.md) with the redirect URI
`<service>/callback` and the public half of its key as a JWK Set. Set `app.secret_key` and
`app.config["HUB_URL"]`, `["CLIENT_ID"]` and `["CLIENT_KEY"]` (its private key, e.g. a joserfc `RSAKey`),
then call `register(app)`. authlib keeps state, nonce and the PKCE verifier in Flask's signed session cookie.
"""

import json

from authlib.integrations.flask_client import OAuth, OAuthError
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from flask import Flask, request, url_for

app = Flask(__name__)
oauth = OAuth(app)
WANTED = {"given_name": None, "family_name": None, "birthdate": None}  # registered for the client, verified
CLAIMS = {"userinfo": {"verified_claims": {"verification": {"trust_framework": None}, "claims": WANTED}}}


def register(app: Flask) -> None:
    hub = app.config["HUB_URL"]
    oauth.register("hub", client_id=app.config["CLIENT_ID"], client_secret=app.config["CLIENT_KEY"],
                   server_metadata_url=f"{hub}/.well-known/openid-configuration",
                   client_kwargs={"scope": "openid", "code_challenge_method": "S256",
                                  "token_endpoint_auth_method": "private_key_jwt"},
                   client_auth_methods=[PrivateKeyJWT(f"{hub}/token")])  # fmt: skip


@app.get("/sign-in")
def sign_in():  # Cl.Cm.P2: two factors and verified identity; ["Cl.Cm"] to sign in without identity
    return oauth.hub.authorize_redirect(url_for("callback", _external=True),
                                        vtr=json.dumps(["Cl.Cm.P2"]), claims=json.dumps(CLAIMS))  # fmt: skip


@app.get("/callback")
def callback():
    try:  # checks state; private_key_jwt and PKCE at the token endpoint; the ID token's signature and nonce
        token = oauth.hub.authorize_access_token()
    except OAuthError as error:  # e.g. access_denied, with the hub's return code: why, and what to offer
        return {"error": error.error, "return_code": request.args.get("return_code")}, 403
    verified = oauth.hub.userinfo(token=token).get("verified_claims", {})
    return {"sub": token["userinfo"]["sub"], "vot": token["userinfo"]["vot"], "claims": verified.get("claims")}
