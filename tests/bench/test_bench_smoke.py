"""`make bench --quick` end to end: the report has its shape and its counts are plausible. Never speed."""

from __future__ import annotations

import json
import pstats

import pytest

from federation.launcher import ORDER
from federation.op_counts import OPERATIONS
from tests.bench import journey_bench, profile_service

pytestmark = pytest.mark.e2e

# the processes the bench starts: the demo's local matcher is built into the matching service
RUNNING = tuple(service for service in ORDER if service != "local_matcher")


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "journey.json"
    assert journey_bench.main(["--quick", "--json", str(path)]) == 0
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_level_reports_cpu_for_every_process_and_the_driver(quick_report):
    assert [level["concurrency"] for level in quick_report["levels"]] == list(journey_bench.QUICK_LEVELS)
    for level in quick_report["levels"]:
        assert level["journeys"] == journey_bench.QUICK_JOURNEYS
        cpu = level["cpu_ms_per_journey"]
        assert set(cpu) == {*RUNNING, "all processes"}
        assert all(value >= 0 for value in cpu.values())
        assert cpu["hub"] > 0, "the hub did work for every journey: its CPU cannot read zero"
        assert cpu["all processes"] == pytest.approx(sum(v for k, v in cpu.items() if k != "all processes"))
        assert level["driver_cpu_ms_per_journey"] > 0
        assert level["journeys_per_second"] > 0
    assert set(quick_report["summary"]["cpu_ms_per_journey_median"]) == {*RUNNING, "all processes"}
    assert set(quick_report["idle_cpu_ms_per_second"]) == set(RUNNING)


def test_operation_counts_are_those_of_a_matched_journey(quick_report):
    for level in quick_report["levels"]:
        ops = level["ops_per_journey"]
        assert set(ops) == set(RUNNING)
        assert all(set(OPERATIONS) <= set(counts) for counts in ops.values())
        assert all(0 <= n < 50 for counts in ops.values() for n in counts.values()), ops
        for counts in ops.values():  # the page renders, by template, add up to all of them
            by_template = [n for op, n in counts.items() if op.startswith("page_render:")]
            assert sum(by_template) == pytest.approx(counts["page_render"])
        hub, idp, ms, rp = (ops[s] for s in ("hub", "stub_idps", "matching_service", "relying_party_example"))
        # The hub verifies the service's request and the IDP's response, signs what it sends, decrypts the
        # IDP's assertions, and renders the journey's pages.
        assert hub["verify"] >= 2 and hub["sign"] >= 2 and hub["decrypt"] >= 1 and hub["page_render"] >= 1
        assert hub["xml_parse"] >= hub["verify"]
        assert idp["verify"] >= 1 and idp["sign"] >= 1 and idp["encrypt"] >= 1
        assert ms["verify"] >= 1 and ms["decrypt"] >= 1 and ms["sign"] >= 1
        assert rp["sign"] >= 1 and rp["verify"] >= 1 and rp["decrypt"] >= 1 and rp["page_render"] >= 1


def test_hops_have_percentiles_for_each_service(quick_report):
    for level in quick_report["levels"]:
        hops = level["hops"]
        services = {hop.split()[0] for hop in hops}
        assert {"hub", "stub_idps", "relying_party_example", "whole"} <= services
        for hop, figures in hops.items():
            assert 0 < figures["p50_ms"] <= figures["p99_ms"], hop
            assert 1 <= figures["count"] <= level["journeys"]
        assert hops["whole journey"]["count"] == level["journeys"]


def test_the_light_driver_ran_and_is_named(quick_report):
    assert quick_report["driver"] == journey_bench.DEFAULT_DRIVER == "light"
    assert "light_driver.py" in quick_report["driver_description"]
    text = journey_bench.table(quick_report)
    assert "Load driver: light" in text and "load driver (this process, light)" in text


def test_the_table_is_printed(quick_report):
    text = journey_bench.table(quick_report)
    assert "CPU ms per matched journey" in text and "Operations per journey" in text and "p50 / p99" in text
    assert all(name in text for name in RUNNING)


def test_profile_writes_a_prof_file_and_a_summary(tmp_path):
    prof, summary = profile_service.profile("stub_idps", journeys=1, concurrency=1, out_dir=tmp_path)
    stats = pstats.Stats(str(prof))
    assert stats.total_calls > 0
    assert any("stub_idps" in filename for filename, _, _ in stats.stats)
    text = summary.read_text(encoding="utf-8")
    assert "=== top 40 by cumulative ===" in text and "=== top 40 by tottime ===" in text
    assert text.startswith("Where the CPU goes, by area") and "views, journey and policy" in text
    assert "stub_idps/" in text  # its own functions, named
