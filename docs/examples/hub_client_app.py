"""A department's Flask service signing citizens in through the hub with its client library, `hub_client`.

The same code for a `verify` or a `standard` service: the library reads the service's profile from the
federation config. Set `app.secret_key` and `app.config["HUB"] = HubClient.for_service(...)`. One process
with its state in memory: with several, keep PENDING and ANSWERS in a shared store.
"""

from flask import Flask, abort, redirect, request, session

from hub_client import HubClient, HubResponseError, Outcome

app = Flask(__name__)
PENDING: dict[str, bool] = {}  # our AuthnRequests not yet answered: each is answered once
ANSWERS: dict[str, Outcome] = {}  # request ID -> what the hub said, until the browser that asked comes for it


@app.get("/sign-in")
def sign_in():
    request_id, url = app.config["HUB"].start_sign_in_redirect()  # or start_sign_in(): an HTTP-POST form
    session["request_id"] = request_id  # in Flask's signed cookie: this browser asked
    PENDING[request_id] = True
    return redirect(url)


@app.post("/acs")  # the hub's POST comes from another site: the browser sends it without our cookie
def acs():
    hub: HubClient = app.config["HUB"]
    try:
        received = hub.receive_response(request.form["SAMLResponse"])  # parsed once, not yet verified
        request_id = received.in_response_to  # unverified: which request?
        if not PENDING.pop(request_id, False):  # a request of ours, answered once
            abort(403)
        ANSWERS[request_id] = hub.handle_response(received, expected_request_id=request_id)  # verified, or refused
    except HubResponseError:  # its `reason` is for your log
        abort(403)
    return redirect("/signed-in", 303)  # a top-level GET: the browser's cookie comes back


@app.get("/signed-in")
def signed_in():
    outcome = ANSWERS.pop(session.pop("request_id", ""), None) or abort(403)  # only this browser's answer
    answer = {"scenario": outcome.scenario.value, "id": outcome.identifier, "level": outcome.level_of_assurance}
    return answer | {"attributes": {a.name: [a.values, a.verified] for a in outcome.attributes}}  # standard only
