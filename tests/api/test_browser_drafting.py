"""In a real browser, at phone and desktop size: roads.staff drafts a 전자결재 on the 기안 page,
choosing the approval line's people with the picker (searching by name, department or position),
one 협조 step for two people at once, and lands on the case."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Api, serving
from tests.api.test_browser import DESKTOP, PHONE, browser, log_in  # noqa: F401 - the browser fixture

BODY = "시청 앞 보도를 정비합니다.\n1. 보도블록 교체\n2. 점자블록 보수"


def pick(page: Any, row: int, words: str, name: str) -> None:
    """In step ``row`` of the line, search the organisation for ``words`` and choose ``name``."""
    step = page.locator(f"[id='f-line[{row}]']")
    search = step.locator(".cf-picker-search")
    search.fill(words)
    step.locator(".cf-picker-option", has_text=name).first.click()
    step.locator(".cf-chip", has_text=name).wait_for()


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_drafter_chooses_the_line_with_the_picker_and_submits_the_document(
    size: str, browser: Any, app: Any, api: Api, tmp_path: Path,  # noqa: F811 - the browser fixture
) -> None:
    with serving(app) as url:
        context = browser.new_context(**(PHONE if size == "phone" else DESKTOP))
        page = context.new_page()
        log_in(page, url, "roads.staff")
        page.goto(f"{url}/processes")
        page.get_by_role("link", name="기안하기").click()
        page.wait_for_url(f"{url}/processes/approval/start")
        page.get_by_label("예산").check()
        page.get_by_label("제목").fill("보도 정비 계획")
        page.get_by_label("본문").fill(BODY)
        page.get_by_label("금액(원)").fill("10,000,000")

        # the default line is 검토 then 결재: the second step becomes a 협조 of two, a third step approves
        pick(page, 0, "도로 팀장", "김팀장")
        page.locator("[id='f-line[1]']").get_by_label("협조", exact=True).check()
        pick(page, 1, "교통정책", "이과장")
        page.locator("[id='f-line[1]'] .cf-picker-search").fill("복지")
        page.locator("[id='f-line[1]'] .cf-picker-option", has_text="박과장").wait_for()
        page.screenshot(path=str(tmp_path / f"draft-picker-{size}.png"), full_page=False)
        page.locator("[id='f-line[1]'] .cf-picker-option", has_text="박과장").click()
        page.get_by_role("button", name="결재선 행 추가").click()
        page.locator("[id='f-line[2]']").get_by_label("결재", exact=True).check()
        pick(page, 2, "김과장", "김과장")
        chips = page.locator("[id='f-line[1]'] .cf-chip").all_inner_texts()
        assert [" ".join(chip.replace("×", "").split()) for chip in chips] == ["이과장 교통정책과", "박과장 복지정책과"]
        page.screenshot(path=str(tmp_path / f"draft-{size}.png"), full_page=True)

        page.get_by_role("button", name="상신").click()
        page.wait_for_url(f"{url}/instances/**")
        assert "보도 정비 계획" in page.content()
        page.screenshot(path=str(tmp_path / f"case-{size}.png"), full_page=True)
        instance_id = page.url.split("/instances/")[1].split("?")[0]
        context.close()

    data = api.call("GET", f"/api/instances/{instance_id}", "roads.staff").json()["data"]
    assert (data["drafter"], data["doc_type"], data["amount"], data["body"]) == ("roads.staff", "예산", 10_000_000, BODY)
    assert [(s["kind"], [p["user"] for p in s["people"]]) for s in data["line"]] == [
        ("검토", ["roads.lead"]), ("협조", ["traffic.chief", "welfare.chief"]), ("결재", ["roads.chief"])]
