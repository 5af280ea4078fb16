"""An example department service that signs citizens in through the hub: the code a department copies.

`client.py` is the small client library (no SAML for the department to write); `app.py` the Flask app.
"""
