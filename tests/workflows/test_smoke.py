"""The workflow test rig itself: the suggestion process runs as the demo city hall's people."""

from __future__ import annotations

from tests.workflows.conftest import City


def test_a_suggestion_runs_through_the_city(city: City) -> None:
    instance = city.api.start("roads.staff", "suggestion", {"title": "그늘막", "supporters": 3})
    city.complete("planning.staff", instance["id"], "review_suggestion", {"accepted": True, "category": "도로"})
    assert city.open_elements(instance["id"]) == ["write_answer"]
    city.complete("roads.lead", instance["id"], "write_answer", {"answer": "설치했습니다"})
    assert city.instance(instance["id"])["status"] == "completed"
    assert city.later(days=1).timers == 0
    assert city.verified()
