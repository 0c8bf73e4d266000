"""The procedures page: versions with who, when, why and running cases; upload to publish; download."""
from __future__ import annotations

import html
import io

from conftest import STANDARD, count
from engine.records import ProcessVersion


def upload(browser, data: bytes, note: str):
    return browser.post("/procedures/", {"diagram": (io.BytesIO(data), "changed.bpmn"), "note": note},
                        token_from="/procedures/", content_type="multipart/form-data")


def changed_standard() -> bytes:
    return STANDARD.read_bytes().replace(b'name="Check validity"', b'name="Check validity (v2)"')


def test_owner_publishes_a_new_version_with_its_note_and_sees_it_listed(acme, login, api, complaint_data):
    api(acme.email("service")).post("/processes/complaint_standard/instances", {"data": complaint_data})
    owner = login(acme.email("owner"))
    response = upload(owner, changed_standard(), "校验任务改名")
    assert response.status_code == 303
    page = html.unescape(owner.get("/procedures/").get_data(as_text=True))
    assert 'data-key="complaint_standard" data-version="2"' in page and "校验任务改名" in page
    version_one = page[page.index('data-version="1"'):]
    assert '<td class="running">1</td>' in version_one[:version_one.index("</tr>")]


def test_broken_upload_lists_each_problem_by_element_and_publishes_nothing(database, acme, login):
    broken = changed_standard().replace(b"<bpmn:conditionExpression xsi:type=\"bpmn:tFormalExpression\">valid<",
                                        b"<bpmn:conditionExpression xsi:type=\"bpmn:tFormalExpression\">${valid}<")
    assert broken != changed_standard()
    before = count(database, ProcessVersion)
    response = upload(login(acme.email("owner")), broken, "a note worth keeping")
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "<code>flow_valid_yes</code>" in page and "valid" in page
    assert 'value="a note worth keeping"' in page
    assert count(database, ProcessVersion) == before


def test_employees_see_versions_but_cannot_publish(acme, login):
    service = login(acme.email("service"))
    page = service.get("/procedures/").get_data(as_text=True)
    assert 'data-key="complaint_standard"' in page and 'enctype="multipart/form-data"' not in page
    assert upload(service, changed_standard(), "").status_code == 403


def test_download_gives_the_published_file_unchanged(acme, login):
    response = login(acme.email("auditor")).get("/procedures/complaint_standard/1.bpmn")
    assert response.status_code == 200
    assert response.data == STANDARD.read_bytes()
    assert "complaint_standard-v1.bpmn" in response.headers["Content-Disposition"]


def test_modeler_publish_returns_problems_by_element_as_json(database, acme, login):
    owner = login(acme.email("owner"))
    token = owner.csrf("/procedures/complaint_standard/edit")
    broken = changed_standard().decode().replace('name="Quality"', 'name="Qualitty"')
    response = owner.client.post("/procedures/publish.json", json={"xml": broken, "note": "x"},
                                 headers={"X-CSRFToken": token})
    assert response.status_code == 400
    assert "grade_complaint" in {e["element"] for e in response.get_json()["errors"]}
    response = owner.client.post("/procedures/publish.json", json={"xml": changed_standard().decode(), "note": "v2"},
                                 headers={"X-CSRFToken": token})
    assert (response.status_code, response.get_json()["version"]) == (201, 2)


def test_only_owners_open_the_modeler(acme, login):
    assert login(acme.email("service")).get("/procedures/complaint_standard/edit").status_code == 403
    assert login(acme.email("owner")).get("/procedures/complaint_standard/edit").status_code == 200
