"""`GET /SAML2/metadata/federation`: the signed federation metadata every party loads."""

from __future__ import annotations

from flask import Blueprint, Response

from hub.web_session import services

bp = Blueprint("metadata", __name__)


@bp.get("/SAML2/metadata/federation")
def federation_metadata():
    return Response(
        services().signed_metadata(),
        mimetype="application/samlmetadata+xml",
        headers={"Cache-Control": "max-age=60"},
    )
