"""docs/idp-profile.md stays true: its generated blocks are what the stub IDPs, the hub's reading and the
profile's constants make today (with this test session's own keys: the blocks hold no key material)."""

from __future__ import annotations

from tests.support.idp_profile_doc import BLOCKS, DOC, drifted, main, render


def test_the_generated_blocks_of_the_idp_profile_are_current(keys_dir):
    stale = drifted(DOC.read_text(encoding="utf-8"), keys_dir)
    assert stale == [], f"docs/idp-profile.md drifted in {stale}: run python -m tests.support.idp_profile_doc --write"


def test_a_changed_sample_is_caught_and_rewritten(keys_dir, tmp_path, capsys):
    doc = tmp_path / "idp-profile.md"
    text = DOC.read_text(encoding="utf-8")
    doc.write_text(text.replace("`ida:DateType`", "`ida:Date`"))  # someone edits a generated table by hand
    assert set(drifted(doc.read_text(), keys_dir)) == {"mds-table"}
    assert main(["--check", "--keys-dir", str(keys_dir), "--doc", str(doc)]) == 1
    assert "generated blocks out of date: mds-table" in capsys.readouterr().err
    assert main(["--write", "--keys-dir", str(keys_dir), "--doc", str(doc)]) == 0
    assert doc.read_text() == render(text, keys_dir) == text


def test_every_block_is_in_the_document():
    text = DOC.read_text(encoding="utf-8")
    for name in BLOCKS:
        assert f"<!-- generated: {name} -->" in text and f"<!-- end generated: {name} -->" in text
