"""Copy GOV.UK Frontend's built assets to where the apps serve them: ``python -m federation.assets SRC DEST``.

SRC is ``node_modules/govuk-frontend/dist/govuk`` (installed by ``npm ci`` from the pinned lock file).
DEST (``hub/static/govuk``) gets the minified CSS and JS, the fonts, images and manifest. The stylesheet's
``url(/assets/...)`` references are made relative, so they resolve under ``/static/govuk/`` wherever the
app is mounted. DEST is replaced as a whole, via a temporary sibling, so a failed copy never leaves a
half-updated folder behind.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

FILES = (
    "govuk-frontend.min.css",
    "govuk-frontend.min.css.map",
    "govuk-frontend.min.js",
    "govuk-frontend.min.js.map",
)
REQUIRED = ("govuk-frontend.min.css", "govuk-frontend.min.js", "assets")
STYLESHEET = "govuk-frontend.min.css"


class AssetsError(Exception):
    pass


def _package_version(src: Path) -> str | None:
    """Version from govuk-frontend's package.json (``dist/govuk`` sits two levels below it)."""
    manifest = src.parent.parent / "package.json"
    try:
        return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return None


def relative_asset_urls(css: str) -> str:
    return css.replace("url(/assets/", "url(assets/")


def copy_assets(src: Path, dest: Path) -> Path:
    missing = [name for name in REQUIRED if not (src / name).exists()]
    if missing:
        raise AssetsError(f"{src} is not GOV.UK Frontend's dist/govuk folder (missing: {', '.join(missing)})")
    staging = dest.with_name(dest.name + ".tmp")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for name in FILES:
        if (src / name).exists():
            shutil.copy2(src / name, staging / name)
    shutil.copytree(src / "assets", staging / "assets")
    stylesheet = staging / STYLESHEET
    stylesheet.write_text(relative_asset_urls(stylesheet.read_text(encoding="utf-8")), encoding="utf-8")
    version = _package_version(src)
    if version:
        (staging / "VERSION").write_text(version + "\n", encoding="utf-8")
    if dest.exists():
        shutil.rmtree(dest)
    staging.rename(dest)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m federation.assets", description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path, help="node_modules/govuk-frontend/dist/govuk")
    parser.add_argument("dest", type=Path, help="folder the apps serve as /static/govuk/")
    args = parser.parse_args(argv)
    try:
        dest = copy_assets(args.src, args.dest)
    except (AssetsError, OSError) as error:
        print(f"federation.assets: {error}", file=sys.stderr)
        return 1
    print(f"GOV.UK Frontend {_package_version(args.src) or '(unknown version)'} copied to {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
