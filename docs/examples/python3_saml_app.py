"""A department's Flask service signing citizens in through the hub with python3-saml (`standard` profile).

Set `app.secret_key` and `app.config["SAML"] = saml_settings(...)` (python3_saml_settings.py). One
process with its state in memory: with several, keep PENDING and ANSWERS in a shared store.
"""

from flask import Flask, abort, redirect, request, session
from onelogin.saml2.auth import OneLogin_Saml2_Auth

app = Flask(__name__)
PENDING: dict[str, bool] = {}  # our AuthnRequests not yet answered: each is answered once
ANSWERS: dict[str, dict] = {}  # request ID -> what the hub said, until the browser that asked comes for it


def saml() -> OneLogin_Saml2_Auth:
    https = "on" if request.scheme == "https" else "off"  # behind a proxy: Flask's ProxyFix
    page = {"https": https, "http_host": request.host, "script_name": request.path, "post_data": request.form}
    return OneLogin_Saml2_Auth(page, app.config["SAML"])


@app.get("/sign-in")
def sign_in():
    auth = saml()
    url = auth.login(return_to="/")  # a signed AuthnRequest, HTTP-Redirect binding
    session["request_id"] = auth.get_last_request_id()  # in Flask's signed cookie: this browser asked
    PENDING[session["request_id"]] = True
    return redirect(url)


@app.post("/acs")  # the hub's POST comes from another site: the browser sends it without our cookie
def acs():
    auth = saml()
    auth.process_response()  # signatures, decryption, Destination, Recipient, Audience, time, status
    request_id = auth.get_last_response_in_response_to()  # None unless the Response is valid
    if auth.get_errors() or not PENDING.pop(request_id, False):  # a request of ours, answered once
        abort(403)
    ANSWERS[request_id] = {"id": auth.get_nameid(), "level": auth.get_last_authn_contexts(), **auth.get_attributes()}
    return redirect("/signed-in", 303)  # a top-level GET: the browser's cookie comes back


@app.get("/signed-in")
def signed_in():
    answer = ANSWERS.pop(session.pop("request_id", ""), None)  # only the answer to this browser's request
    return answer or abort(403)  # sign the citizen in to your own session here
