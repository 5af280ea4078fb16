"""The profile summary: own time by area adds up to the whole, functions land in the area their file says,
and Python's own code counts for the area that called it."""

from __future__ import annotations

import cProfile
import pstats
import time

from tests.bench.cpu_by_function import OTHER, area_of, by_area, from_pstats, table


def _profiled() -> pstats.Stats:
    from federation import xmlsecurity

    profile = cProfile.Profile(time.thread_time)
    profile.enable()
    for _ in range(50):
        xmlsecurity.parse_xml(b"<a xmlns='urn:x'><b>text</b></a>")
    profile.disable()
    return pstats.Stats(profile)


def test_areas_follow_the_file_or_the_library():
    assert area_of("verify (/repo/federation/xmlsecurity.py:380)").startswith("XML security")
    assert area_of("<method 'verify' of 'xmlsec.SignatureContext' objects>").startswith("XML security")
    assert area_of("dispatch_request (site/flask/app.py:900)") == "Flask and Werkzeug"
    assert area_of("result (/repo/hub/views/journey.py:330)") == "views, journey and policy"
    assert area_of("save (/repo/hub/store/redis.py:80)").startswith("the store")
    assert area_of("<built-in method builtins.len>") == OTHER
    assert area_of("<built-in method builtins.len>, called from Flask and Werkzeug") == "Flask and Werkzeug"


def test_pythons_own_code_counts_for_the_area_that_called_it():
    costs = from_pstats(_profiled())
    called = [label for label in costs if ", called from " in label]
    assert called and all(area_of(label).startswith("XML security") for label in called), called


def test_own_times_add_up_and_the_top_functions_are_listed():
    costs = from_pstats(_profiled())
    assert any("parse_xml" in label for label in costs)
    assert abs(sum(by_area(costs).values()) - sum(costs.values())) < 1e-9
    text = table(costs, journeys=50, top=5)
    assert text.startswith("Where the CPU goes, by area")
    all_row = next(line for line in text.splitlines() if line.endswith("  all"))
    assert all_row.split()[1] == "100.0%" and abs(float(all_row.split()[0]) - 1000 * sum(costs.values()) / 50) < 0.01
    assert len([line for line in text.splitlines() if "  [" in line]) == 5


def test_nothing_profiled_says_so():
    assert table({}, journeys=10) == "Nothing was profiled.\n"
    assert table({"f": 1.0}, journeys=0) == "Nothing was profiled.\n"
