"""The shared core of the federation: SAML profile, XML security, metadata, config, web layer."""
