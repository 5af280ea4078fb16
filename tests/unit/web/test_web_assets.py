"""GOV.UK Frontend assets: the pinned version fits the Jinja macros, the copy step, and serving them."""

from __future__ import annotations

import json
import re
from importlib.metadata import metadata
from pathlib import Path

import pytest

from federation import assets
from federation.web import static_folder

REPO = Path(__file__).resolve().parents[3]
BUILT = static_folder()
needs_built_assets = pytest.mark.skipif(
    not (BUILT / "govuk-frontend.min.css").exists(), reason="run `make assets` to build hub/static/govuk"
)


def pinned_version() -> str:
    return json.loads((REPO / "package.json").read_text())["dependencies"]["govuk-frontend"]


def test_pinned_govuk_frontend_is_the_one_govuk_frontend_jinja_ports():
    jinja_meta = metadata("govuk-frontend-jinja")
    supported = re.search(
        rf"\[{re.escape(jinja_meta['Version'])}\]\([^)]*\)\s*\|\s*\[(\d+\.\d+\.\d+)\]", jinja_meta.get_payload()
    )
    assert supported, "govuk-frontend-jinja's compatibility table not found"
    assert pinned_version() == supported.group(1)
    lock = json.loads((REPO / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/govuk-frontend"]["version"] == pinned_version()


def make_dist(root: Path, version: str = "9.9.9") -> Path:
    package = root / "node_modules" / "govuk-frontend"
    dist = package / "dist" / "govuk"
    (dist / "assets" / "fonts").mkdir(parents=True)
    (dist / "assets" / "images").mkdir()
    (package / "package.json").write_text(json.dumps({"version": version}))
    (dist / "govuk-frontend.min.css").write_text(
        "@font-face{src:url(/assets/fonts/bold.woff2)}.x{background:url(/assets/images/crest.svg)}"
    )
    (dist / "govuk-frontend.min.js").write_text("export function initAll(){}")
    (dist / "assets" / "fonts" / "bold.woff2").write_bytes(b"font")
    (dist / "assets" / "images" / "crest.svg").write_text("<svg/>")
    (dist / "template.njk").write_text("not copied")
    return dist


def test_copy_assets_rewrites_urls_and_replaces_the_destination(tmp_path):
    dist = make_dist(tmp_path)
    dest = tmp_path / "static" / "govuk"
    dest.mkdir(parents=True)
    (dest / "stale.css").write_text("old")
    assert assets.main([str(dist), str(dest)]) == 0
    css = (dest / "govuk-frontend.min.css").read_text()
    assert "url(/assets/" not in css
    assert "url(assets/fonts/bold.woff2)" in css and "url(assets/images/crest.svg)" in css
    assert (dest / "assets" / "fonts" / "bold.woff2").read_bytes() == b"font"
    assert (dest / "VERSION").read_text().strip() == "9.9.9"
    assert not (dest / "stale.css").exists()
    assert not (dest / "template.njk").exists()
    assert not (tmp_path / "static" / "govuk.tmp").exists()


def test_copy_assets_refuses_a_folder_that_is_not_govuk_frontend(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert assets.main([str(tmp_path / "empty"), str(tmp_path / "dest")]) == 1
    assert "missing" in capsys.readouterr().err
    assert not (tmp_path / "dest").exists()


def test_assets_folder_can_be_given_per_app(tmp_path, make_web_app):
    dist = make_dist(tmp_path)
    dest = tmp_path / "govuk"
    assets.copy_assets(dist, dest)
    client = make_web_app(assets_dir=dest).test_client()
    response = client.get("/static/govuk/assets/images/crest.svg")
    assert response.status_code == 200 and response.data == b"<svg/>"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@needs_built_assets
def test_built_assets_are_served_under_static_govuk(client):
    css = client.get("/static/govuk/govuk-frontend.min.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    fonts = re.findall(r"url\((assets/fonts/[^)]+)\)", css.get_data(as_text=True))
    assert fonts
    for font in fonts:
        assert client.get(f"/static/govuk/{font}").status_code == 200
    js = client.get("/static/govuk/govuk-frontend.min.js")
    assert js.status_code == 200 and b"initAll" in js.data
    assert client.get("/static/govuk/assets/images/favicon.svg").status_code == 200
    assert client.get("/static/govuk/assets/manifest.json").status_code == 200
    assert (BUILT / "VERSION").read_text().strip() == pinned_version()


@needs_built_assets
def test_every_asset_a_page_links_to_exists(client):
    html = client.get("/page/start.html").get_data(as_text=True)
    links = set(re.findall(r'(?:href|src)="(/static/[^"]+)"', html))
    assert "/static/govuk/govuk-frontend.min.css" in links
    for link in links:
        assert client.get(link).status_code == 200, link


def test_federation_script_imports_govuk_frontend_from_the_served_path():
    script = (REPO / "federation" / "web" / "static" / "federation-web.js").read_text()
    assert "import('../govuk/govuk-frontend.min.js')" in script
    assert "form[data-federation-auto-submit]" in script


def test_govuk_assets_win_over_an_apps_own_static_folder(tmp_path):
    from flask import Flask

    from federation.web import register_web

    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "app.css").write_text("app")
    dest = tmp_path / "govuk"
    assets.copy_assets(make_dist(tmp_path), dest)
    app = Flask(__name__, static_folder=str(tmp_path / "static"))
    register_web(app, service_name="Test", assets_dir=dest)
    client = app.test_client()
    assert client.get("/static/app.css").data == b"app"
    assert client.get("/static/govuk/govuk-frontend.min.js").data == b"export function initAll(){}"
