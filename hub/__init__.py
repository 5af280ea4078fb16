"""The SAML hub: journey policy, session store and (later) the Flask app."""
