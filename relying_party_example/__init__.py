"""An example department service that signs citizens in through the hub: the code a department copies.

It writes no SAML: the client library (`hub_client`, a package of its own) does. `app.py` is the Flask app.
"""
