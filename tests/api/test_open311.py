"""Open311 GeoReport v2 over field reports: a city's 311 app files a report with its key, the report is a
field report like any other for 도로과, which acknowledges and fixes it, and the app reads it closed.

The app is driven by ``georeport`` (PyPI), a maintained GeoReport v2 client; it reads (services, their
definitions, requests) but files nothing, so a report is filed exactly as the ``three`` client posts it
(form fields and the photo as the multipart file ``media``); ``three`` itself is Python 2 only."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from georeport import GeoReport

from engine import open311
from engine.config import Settings
from engine.context import EngineContext
from engine.db import Database
from engine.demo import DEMO_PASSWORD
from engine.worker import Worker
from tests.api.conftest import Api, serving
from tests.cli_helpers import Cli
from tests.images import jpeg

V2 = "/open311/v2"
PERSONAL = {"email": "citizen@example.kr", "first_name": "길동", "last_name": "홍", "phone": "010-1234-5678"}
POTHOLE = {
    "jurisdiction_id": "suwon.go.kr",
    "service_code": "road-damage",
    "lat": "37.2636",
    "long": "127.0286",
    "address_string": "수원시 팔달구 효원로 241",
    "description": "시청 앞 보도블록이 깨져 유모차가 지나가기 어렵습니다.",
    "attribute[urgency]": "긴급",
    **PERSONAL,
}


def issue_key(database: Database, client: str = "suwon-app") -> str:
    with database.unit_of_work() as session:
        return open311.issue_key(session, client, actor="admin")


def photo() -> dict[str, Any]:
    return {"media": ("pothole.jpg", jpeg(320, 240, (120, 110, 100)), "image/jpeg")}


def file_report(api: Api, key: str, fmt: str = "json", **changes: Any) -> Any:
    """A report posted as the ``three`` client posts one: form fields, the photo as ``media``."""
    fields = {**POTHOLE, "api_key": key, **changes}
    files = fields.pop("files", photo())
    return api.client.post(f"{V2}/requests.{fmt}", data={k: v for k, v in fields.items() if v is not None},
                           files=files)


def filed(api: Api, key: str) -> str:
    answer = file_report(api, key)
    assert answer.status_code == 201, answer.text
    request_id: str = answer.json()[0]["service_request_id"]
    return request_id


def department_fixes(call: Any, request_id: str, worker: Worker, acknowledged: Callable[[], None]) -> None:
    """도로과 acknowledges the report (접수 확인) and closes it with a photo after the fix."""
    for username, element in (("roads.lead", "acknowledge_report"), ("roads.staff", "resolve_report")):
        tasks = call("GET", "/api/tasks?process_key=field_report", username).json()["items"]
        (task,) = [t for t in tasks if t["instance_id"] == request_id and t["element_id"] == element]
        if element == "acknowledge_report":
            data: dict[str, Any] = {"acknowledge_note": "내일 오전 보수반이 나갑니다."}
        else:
            after = call("POST", f"/api/instances/{request_id}/attachments", username, data={"task_id": task["id"]},
                         files={"file": ("after.jpg", jpeg(320, 240, (150, 150, 150)), "image/jpeg")})
            assert after.status_code == 201, after.text
            data = {"photo_after": f"attachment:{after.json()['id']}", "resolution": "깨진 보도블록을 교체했습니다."}
        done = call("POST", f"/api/tasks/{task['id']}/complete", username, json={"data": data})
        assert done.status_code == 200, done.text
        worker.drain()  # the moment stamped, the reporter told
        if element == "acknowledge_report":
            acknowledged()


def test_a_311_app_files_a_report_follows_it_and_reads_it_closed_after_the_department_fixes_it(
    app: Any, database: Database, ctx: EngineContext, settings: Settings,
) -> None:
    key = issue_key(database)
    worker = Worker(database, ctx, settings)
    with serving(app) as url:
        tokens: dict[str, str] = {}

        def call(method: str, path: str, username: str, **kwargs: Any) -> requests.Response:
            if username not in tokens:
                tokens[username] = requests.post(f"{url}/api/auth/token", timeout=10, json={
                    "username": username, "password": DEMO_PASSWORD}).json()["access_token"]
            return requests.request(method, url + path, headers={"Authorization": f"Bearer {tokens[username]}"},
                                    timeout=30, **kwargs)

        client = GeoReport(f"{url}{V2}", jurisdiction="suwon.go.kr", api_key=key)
        services = {s["service_code"]: s for s in client.get_service_list()}
        assert {"road-damage", "street-light", "illegal-parking", "litter", "pollution", "other"} <= set(services)
        assert services["road-damage"]["service_name"] == "도로파손" and services["road-damage"]["group"] == "도로과"
        assert services["road-damage"]["metadata"] is True and services["road-damage"]["type"] == "realtime"
        (urgency,) = client.get_service_definition("road-damage")["attributes"]
        assert urgency["code"] == "urgency" and [v["key"] for v in urgency["values"]] == ["보통", "긴급"]

        posted = requests.post(f"{url}{V2}/requests.json", data={**POTHOLE, "api_key": client.api_key},
                               files=photo(), timeout=30)
        assert posted.status_code == 201, posted.text
        (answer,) = posted.json()
        request_id = answer["service_request_id"]
        assert "도로과" in answer["service_notice"]
        worker.drain()  # received, routed to 도로과, its head told at once (긴급)

        (listed,) = client.get_service_requests(service_code="road-damage", status="open")
        assert listed["service_request_id"] == request_id and listed["status"] == "open"
        assert listed["agency_responsible"] == "도로과" and listed["service_name"] == "도로파손"
        assert listed["lat"] == 37.2636 and listed["long"] == 127.0286 and listed["address"] == POTHOLE["address_string"]
        assert listed["requested_datetime"].endswith("+09:00") and listed["description"] == POTHOLE["description"]
        assert client.get_service_requests(status="closed") == []

        # Staff see it as any field report: 도로과's work, with the contact the app sent.
        case = call("GET", f"/api/instances/{request_id}", "roads.lead").json()
        assert case["process_key"] == "field_report" and case["data"]["department"] == "도로과"
        assert case["data"]["urgency"] == "긴급" and case["data"]["open311"]["contact"]["phone"] == PERSONAL["phone"]
        register = call("GET", "/api/registers/field_report", "roads.lead")
        assert register.status_code == 200 and request_id in register.text  # on the 현장행정 처리대장 too

        def in_progress() -> None:
            read = client.get_service_request(request_id)
            assert read["status"] == "open" and read["status_notes"] == "처리중 (in progress): 내일 오전 보수반이 나갑니다."

        department_fixes(call, request_id, worker, in_progress)

        read = client.get_service_request(request_id)
        assert read["status"] == "closed" and read["status_notes"] == "깨진 보도블록을 교체했습니다."
        assert read["updated_datetime"] > read["requested_datetime"]
        as_xml = GeoReport(f"{url}{V2}", jurisdiction="suwon.go.kr", output_format="xml")
        read_xml = as_xml.get_service_request(request_id)
        assert read_xml["status"] == "closed" and read_xml["agency_responsible"] == "도로과"
        assert [r["service_request_id"] for r in client.get_service_requests(service_request_id=request_id)] == [
            request_id]


def xml_of(answer: Any) -> ElementTree.Element:
    assert answer.headers["content-type"].startswith("text/xml"), answer.headers["content-type"]
    return ElementTree.fromstring(answer.content)


def test_every_answer_parses_as_the_specs_xml(api: Api, database: Database) -> None:
    key = issue_key(database)
    answer = file_report(api, key, "xml")
    assert answer.status_code == 201, answer.text
    created = xml_of(answer)
    assert created.tag == "service_requests" and created.find("request/service_request_id") is not None
    request_id = created.findtext("request/service_request_id")

    services = xml_of(api.client.get(f"{V2}/services.xml"))
    assert services.tag == "services"
    assert "road-damage" in [s.findtext("service_code") for s in services.findall("service")]
    assert services.find("service[service_code='road-damage']/metadata").text == "true"  # type: ignore[union-attr]
    definition = xml_of(api.client.get(f"{V2}/services/road-damage.xml"))
    assert definition.tag == "service_definition" and definition.findtext("service_code") == "road-damage"
    assert [v.findtext("key") for v in definition.findall("attributes/attribute/values/value")] == ["보통", "긴급"]
    listed = xml_of(api.client.get(f"{V2}/requests.xml"))
    assert listed.tag == "service_requests"
    assert [r.findtext("service_request_id") for r in listed.findall("request")] == [request_id]
    one = xml_of(api.client.get(f"{V2}/requests/{request_id}.xml"))
    assert one.findtext("request/status") == "open" and one.findtext("request/service_code") == "road-damage"
    discovery = xml_of(api.client.get(f"{V2}/discovery.xml"))
    assert discovery.tag == "discovery"
    assert discovery.findtext("endpoints/endpoint/url", "").endswith("/open311/v2")
    assert [f.text for f in discovery.findall("endpoints/endpoint/formats/format")] == ["application/json", "text/xml"]
    assert api.client.get(f"{V2}/discovery.json").json()["endpoints"][0]["specification"] == open311.SPECIFICATION
    error = xml_of(api.client.get(f"{V2}/requests/nothing-here.xml"))
    assert error.tag == "errors" and error.findtext("error/code") == "404"


def codes(answer: Any) -> list[int]:
    return [e["code"] for e in answer.json()]


def descriptions(answer: Any) -> str:
    return " ".join(e["description"] for e in answer.json())


def test_a_report_missing_what_a_field_report_needs_is_refused_naming_each_parameter(
    api: Api, database: Database,
) -> None:
    key = issue_key(database)
    missing = file_report(api, key, service_code=None)
    assert missing.status_code == 400 and codes(missing) == [400] and "service_code" in descriptions(missing)
    nowhere = file_report(api, key, lat=None, long=None, address_string=None, description="짧음", files=None)
    assert nowhere.status_code == 400
    assert "lat:" in descriptions(nowhere) and "media:" in descriptions(nowhere)
    half = file_report(api, key, long=None, address_string=None)
    assert half.status_code == 400 and "long:" in descriptions(half)
    too_short = file_report(api, key, description="짧음")
    assert too_short.status_code == 400 and "description:" in descriptions(too_short)
    abroad = file_report(api, key, lat="51.5", long="-0.12")
    assert abroad.status_code == 400 and "lat:" in descriptions(abroad) and "long:" in descriptions(abroad)
    odd = file_report(api, key, **{"attribute[urgency]": "soon", "attribute[colour]": "red"})
    assert odd.status_code == 400 and "attribute[colour]" in descriptions(odd)
    assert "attribute[urgency]" in descriptions(odd)
    unknown = file_report(api, key, service_code="dragons")
    assert unknown.status_code == 400 and "dragons" in descriptions(unknown)
    not_a_photo = file_report(api, key, files={"media": ("note.jpg", b"not a photo at all", "image/jpeg")})
    assert not_a_photo.status_code == 400 and "media:" in descriptions(not_a_photo)
    assert api.client.get(f"{V2}/requests.json").json() == []  # nothing was started
    assert file_report(api, key, address_string=None, lat="37.28", long="127.01").status_code == 201


def test_unknown_services_requests_and_formats_are_404_in_the_specs_shape(api: Api, database: Database) -> None:
    assert api.client.get(f"{V2}/services/dragons.json").status_code == 404
    answer = api.client.get(f"{V2}/requests/0b7f5a3e-0000-0000-0000-000000000000.json")
    assert answer.status_code == 404 and codes(answer) == [404]
    assert api.client.get(f"{V2}/services.csv").status_code == 404
    broken = api.client.post(f"{V2}/requests.json", content=b"--x\r\nno headers here",
                             headers={"content-type": "multipart/form-data; boundary=x"})
    assert broken.status_code == 400 and codes(broken) == [400]
    assert api.client.get(f"{V2}/requests.json?status=pending").status_code == 400
    assert api.client.get(f"{V2}/requests.json?start_date=yesterday").status_code == 400
    wide = api.client.get(f"{V2}/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z")
    assert wide.status_code == 400 and "90 days" in descriptions(wide)


def test_only_a_clients_live_key_files_a_report(api: Api, database: Database) -> None:
    key = issue_key(database)
    for wrong in (None, "", "not-a-key", api.token("roads.staff")):  # a staff member's API token is no api_key
        answer = file_report(api, key, api_key=wrong)
        assert answer.status_code == 403 and codes(answer) == [403], (wrong, answer.text)
    # ...and an api_key is no bearer token for the staff API
    assert api.client.get("/api/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    with database.unit_of_work() as session:
        assert open311.revoke_keys(session, "suwon-app", datetime.now(UTC)) == 1
    assert file_report(api, key).status_code == 403
    other = issue_key(database)  # a new key for the same client
    assert file_report(api, other).status_code == 201
    assert api.client.get(f"{V2}/requests.json").status_code == 200  # reading needs no key


def test_another_jurisdiction_is_not_served(api: Api, database: Database) -> None:
    key = issue_key(database)
    answer = file_report(api, key, jurisdiction_id="seoul.go.kr")
    assert answer.status_code == 404 and "seoul.go.kr" in descriptions(answer)
    assert api.client.get(f"{V2}/services.json?jurisdiction_id=seoul.go.kr").status_code == 404
    assert api.client.get(f"{V2}/requests.xml?jurisdiction_id=seoul.go.kr").status_code == 404
    assert api.client.get(f"{V2}/services.json?jurisdiction_id=suwon.go.kr").status_code == 200
    assert file_report(api, key, jurisdiction_id=None).status_code == 201  # one jurisdiction: it may be left out


def test_reads_carry_no_personal_data(api: Api, database: Database, ctx: EngineContext, settings: Settings) -> None:
    key = issue_key(database)
    request_id = filed(api, key)
    Worker(database, ctx, settings).drain()
    reads = [api.client.get(f"{V2}/{path}") for path in (
        "requests.json", "requests.xml", f"requests/{request_id}.json", f"requests/{request_id}.xml")]
    for answer in reads:
        assert answer.status_code == 200 and request_id in answer.text
        for value in (*PERSONAL.values(), open311.account_of("suwon-app"), "reporter", "attachment:"):
            assert value not in answer.text, (value, answer.text)
    (one,) = reads[2].json()
    assert one["media_url"] is None and one["agency_responsible"] == "도로과"


def test_reports_of_households_in_crisis_are_neither_offered_nor_listed(
    api: Api, database: Database, ctx: EngineContext, settings: Settings,
) -> None:
    key = issue_key(database)
    assert "household-in-crisis" not in [s["service_code"] for s in api.client.get(f"{V2}/services.json").json()]
    assert file_report(api, key, service_code="household-in-crisis").status_code == 400
    started = api.start("welfare.staff", "field_report", {})
    task = api.only_task(started)
    upload = api.call("POST", f"/api/instances/{started['id']}/attachments", "welfare.staff",
                      data={"task_id": task["id"]}, files={"file": ("door.jpg", jpeg(), "image/jpeg")})
    done = api.call("POST", f"/api/tasks/{task['id']}/complete", "welfare.staff", json={"data": {
        "photos_before": [f"attachment:{upload.json()['id']}"], "location": {"address": "수원시 권선구 어느 집"},
        "category": "위기가구", "description": "우편물이 쌓여 있고 인기척이 없습니다.", "urgency": "긴급"}})
    assert done.status_code == 200, done.text
    Worker(database, ctx, settings).drain()
    assert api.client.get(f"{V2}/requests.json").json() == []
    assert api.client.get(f"{V2}/requests/{started['id']}.json").status_code == 404
    assert api.client.get(f"{V2}/requests.json?service_request_id={started['id']}").json() == []


@pytest.mark.parametrize("status", ["open", "closed"])
def test_requests_are_listed_by_status_and_service(status: str, api: Api, database: Database) -> None:
    key = issue_key(database)
    request_id = filed(api, key)
    litter = file_report(api, key, service_code="litter")
    assert litter.status_code == 201
    found = api.client.get(f"{V2}/requests.json?status={status}&service_code=road-damage,street-light").json()
    assert [r["service_request_id"] for r in found] == ([request_id] if status == "open" else [])


def test_keys_are_issued_and_revoked_with_cityflow_open311_key(api: Api, database: Database, tmp_path: Any) -> None:
    cli = Cli.configured(tmp_path, database.url)
    key = cli.ok("open311-key", "suwon-app").strip()
    assert file_report(api, key).status_code == 201
    second = cli.ok("open311-key", "suwon-app").strip()
    assert second != key and file_report(api, second).status_code == 201
    assert cli.ok("open311-key", "suwon-app", "--revoke").strip() == "2 key(s) of open311-suwon-app revoked"
    assert file_report(api, key).status_code == 403 and file_report(api, second).status_code == 403


def test_odd_numbers_and_dates_are_named_never_a_server_error(api: Api, database: Database) -> None:
    key = issue_key(database)
    for lat, long in (("nan", "127.0"), ("37.2", "inf"), ("1e400", "127.0"), ("north", "east")):
        answer = file_report(api, key, lat=lat, long=long)
        assert answer.status_code == 400 and "is not a number" in descriptions(answer), (lat, long, answer.text)
    for query in ("start_date=9999-12-31T23:59:59%2B14:00", "end_date=0001-01-01T00:00:00Z",
                  "end_date=2026-11-01T00:00:00", "start_date=2026-11-02T00:00:00Z&end_date=2026-11-01T00:00:00Z"):
        answer = api.client.get(f"{V2}/requests.json?{query}")
        assert answer.status_code == 400 and codes(answer) == [400], (query, answer.text)
    many = ",".join(f"id-{n}" for n in range(2000))
    assert api.client.get(f"{V2}/requests.json?service_request_id={many}").json() == []
