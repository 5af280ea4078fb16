"""Welsh text never puts an inserted name where Welsh grammar would mutate it.

Service and company names come from configuration as they are written ("Gwasanaeth prawf", "Post Office"):
after "i", "ar", "at", "â", "gyda", "gan" and the like Welsh changes a word's first letter ("i Wasanaeth"),
which a name inserted as it is cannot do. So every Welsh message places names where no mutation applies
(after a colon, in brackets after a common noun, or as a verb's subject), and this test checks it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from federation.web.i18n import _flatten

REPO = Path(__file__).resolve().parents[3]
MUTATING = r"i|ar|at|â|ag|gyda|gan|am|o|dan|drwy|trwy|wrth|hyd|heb|dros|tros|ei|dy|yn|a|neu|na|pan|mor|rhy|dau|dwy"
# names from configuration; times, levels and the like are the catalogue's own Welsh words or digits
NAMES = r"rp|idp|destination|service|operator|controller|label"
PLACEHOLDER_AFTER_MUTATING = re.compile(rf"(?<![\w'’])({MUTATING})\s+\{{({NAMES})\}}", re.IGNORECASE)


def welsh_catalogues() -> dict[str, dict[str, object]]:
    found = {"federation/web/messages_cy.yaml": yaml.safe_load((REPO / "federation/web/messages_cy.yaml").read_text())}
    found["relying_party_example/messages_cy.yaml"] = yaml.safe_load(
        (REPO / "relying_party_example/messages_cy.yaml").read_text()
    )
    for both in ("hub/messages.yaml", "stub_idps/messages.yaml"):
        found[both] = yaml.safe_load((REPO / both).read_text())["cy"]
    return {name: _flatten(tree) for name, tree in found.items()}


@pytest.mark.parametrize("catalogue", sorted(welsh_catalogues()))
def test_no_name_is_placed_where_welsh_would_mutate_it(catalogue):
    offending = []
    for key, message in welsh_catalogues()[catalogue].items():
        for text in (message,) if isinstance(message, str) else message:
            if PLACEHOLDER_AFTER_MUTATING.search(text):
                offending.append(f"{key}: {text}")
    assert offending == [], "\n".join(offending)


def test_the_check_catches_what_it_should():
    assert PLACEHOLDER_AFTER_MUTATING.search("Parhau i {rp}")
    assert PLACEHOLDER_AFTER_MUTATING.search("cysylltu â {rp} nawr")
    assert not PLACEHOLDER_AFTER_MUTATING.search("Parhau i'r gwasanaeth: {rp}")
    assert not PLACEHOLDER_AFTER_MUTATING.search("Mae {idp} wedi profi")
