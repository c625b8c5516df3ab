"""한눈에: the mayor's dashboard counts what is open and every number leads to the register that lists
exactly those cases; every register reads as a page to filter and as an Excel or CSV file to take away,
in the reader's language, with only the cases the reader may read."""

from __future__ import annotations

import csv
import io
from typing import Any

import lxml.html
from openpyxl import load_workbook  # type: ignore[import-untyped]

from tests.api.test_pages import log_in
from tests.workflows.conftest import City
from tests.workflows.test_pending_issue import register

HEADINGS = ["현안", "긴급도", "주관부서", "상태", "해결 목표일", "다음 보고 기한", "보고 수", "해결일", "기한 초과"]


def page(city: City, path: str) -> Any:
    answer = city.api.client.get(path)
    assert answer.status_code == 200, answer.text
    return lxml.html.fromstring(answer.text)


def cards(city: City, path: str) -> list[str]:
    return [" ".join(c.xpath(".//strong")[0].text_content().split())
            for c in page(city, path).xpath("//ul[contains(@class, 'cf-cards')]/li[contains(@class, 'cf-card')]")]


def two_issues(city: City) -> None:
    register(city, urgency="긴급", due_on="2026-12-08", title="세류 지하차도 침수 우려")
    register(city, urgency="중요", due_on="2027-03-31", title="행궁동 골목 가로등 노후")


def test_each_number_on_the_dashboard_leads_to_the_register_listing_exactly_those_cases(city: City) -> None:
    two_issues(city)
    city.later(days=3)  # past the urgent one's target date
    log_in(city.api.client, "mayor")
    dashboard = page(city, "/dashboard")

    (tile,) = [a for a in dashboard.xpath("//a[contains(@class, 'cf-tile')]") if "진행 중인 현안" in a.text_content()]
    assert tile.xpath("./strong")[0].text_content() == "2"
    assert sorted(cards(city, tile.get("href"))) == ["세류 지하차도 침수 우려", "행궁동 골목 가로등 노후"]

    urgency = {a.text_content(): a.get("href") for a in dashboard.xpath("//section[@id='issues']//li/a[1]")}
    assert cards(city, urgency["긴급"]) == ["세류 지하차도 침수 우려"]
    assert cards(city, urgency["중요"]) == ["행궁동 골목 가로등 노후"]
    (overdue,) = dashboard.xpath("//section[@id='issues']//a[contains(@class, 'cf-overdue')]")
    assert "1" in overdue.text_content() and cards(city, overdue.get("href")) == ["세류 지하차도 침수 우려"]

    # Month by month: this month's two registrations are in the chart's figures.
    table = dashboard.xpath("//section[@id='trends']//figure[.//summary[contains(., '현안')]]//table")[0]
    month = city.clock.now.strftime("%Y-%m")
    columns = [th.text_content() for th in table.xpath(".//thead//th")]
    registered = [td.text_content() for td in table.xpath(".//tbody/tr[th='등록']/td")]
    assert registered[columns.index(month)] == "2"


def test_a_register_is_exported_to_excel_and_csv_as_filtered_in_the_readers_language(city: City) -> None:
    two_issues(city)
    log_in(city.api.client, "planning.staff")
    listing = page(city, "/registers/pending_issue?category=긴급")
    links = {a.text_content(): a.get("href") for a in listing.xpath("//a[@download]")}
    assert links == {"Excel": "/registers/pending_issue/export.xlsx?category=%EA%B8%B4%EA%B8%89",
                     "CSV": "/registers/pending_issue/export.csv?category=%EA%B8%B4%EA%B8%89"}

    excel = city.api.client.get(links["Excel"])
    assert excel.status_code == 200
    assert "attachment" in excel.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(excel.content)).active
    rows = [[cell if cell is not None else "" for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == HEADINGS
    assert [row[:4] for row in rows[1:]] == [["세류 지하차도 침수 우려", "긴급", "도로과", "진행중"]]

    text = city.api.client.get(links["CSV"]).content.decode("utf-8")
    assert text.startswith("\ufeff")  # so that Excel reads the Korean as it is
    assert list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1][:2] == ["세류 지하차도 침수 우려", "긴급"]

    english = city.api.client.get(links["CSV"] + "&lang=en").content.decode("utf-8").lstrip("\ufeff")
    assert next(csv.reader(io.StringIO(english)))[:3] == ["Issue", "Urgency", "Lead department"]


def test_an_export_holds_only_the_cases_its_reader_may_read(city: City) -> None:
    two_issues(city)
    figures = city.api.call("GET", "/api/registers/pending_issue", "welfare.staff").json()
    assert figures["total"] == 2  # the city's figures are everyone's ...
    log_in(city.api.client, "welfare.staff")
    text = city.api.client.get("/registers/pending_issue/export.csv").content.decode("utf-8").lstrip("\ufeff")
    readable = len(figures["items"])
    assert len(list(csv.reader(io.StringIO(text)))) == 1 + readable  # ... the rows, only the cases they read
    assert readable < 2


def test_a_filter_a_register_does_not_offer_is_refused_by_name(city: City) -> None:
    log_in(city.api.client, "planning.staff")
    assert city.api.client.get("/registers/pending_issue?open=yes-please").status_code == 422
    assert city.api.client.get("/registers/nothing_like_it").status_code == 404
    assert city.api.client.get("/registers/pending_issue/export.pdf").status_code == 404
