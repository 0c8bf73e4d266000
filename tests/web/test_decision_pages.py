"""The Decision tables pages: versions, upload with a note, download, and what publishing does to callers."""
from __future__ import annotations

import html
import io

from conftest import GRADING_TABLE, count
from engine.records import DecisionVersion, ProcessVersion

STRICTER = GRADING_TABLE.read_bytes().replace(b"&gt; 100000</text>", b"&gt; 10000</text>")


def upload(browser, data: bytes, note: str):
    return browser.post("/decisions/", {"table": (io.BytesIO(data), "grading.dmn"), "note": note},
                        token_from="/decisions/", content_type="multipart/form-data")


def test_owner_publishes_a_table_and_the_procedures_calling_it_get_a_version(acme, login):
    owner = login(acme.email("owner"))
    assert upload(owner, STRICTER, "三级门槛调整").status_code == 303
    page = html.unescape(owner.get("/decisions/").get_data(as_text=True))
    assert 'data-key="grading" data-version="2"' in page and "三级门槛调整" in page
    procedures = html.unescape(owner.get("/procedures/").get_data(as_text=True))
    assert 'data-key="complaint_standard" data-version="2"' in procedures
    assert "Decision table grading updated to version 2" in procedures


def test_a_table_with_an_unknown_hit_policy_is_refused_naming_it_and_nothing_changes(database, acme, login):
    broken = GRADING_TABLE.read_bytes().replace(b'hitPolicy="FIRST"', b'hitPolicy="PRIORITY"')
    assert broken != GRADING_TABLE.read_bytes()
    before = count(database, DecisionVersion), count(database, ProcessVersion)
    response = upload(login(acme.email("owner")), broken, "a note worth keeping")
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "<code>grading</code>" in page and "PRIORITY" in page and 'value="a note worth keeping"' in page
    assert (count(database, DecisionVersion), count(database, ProcessVersion)) == before


def test_download_gives_the_published_table_unchanged(acme, login):
    response = login(acme.email("auditor")).get("/decisions/grading/1.dmn")
    assert response.status_code == 200 and response.data == GRADING_TABLE.read_bytes()


def test_editor_publish_answers_json_with_the_new_version(acme, login):
    owner = login(acme.email("owner"))
    response = owner.client.post("/decisions/publish.json", json={"xml": STRICTER.decode(), "note": "x"},
                                 headers={"X-CSRFToken": owner.csrf("/decisions/")})
    body = response.get_json()
    assert (response.status_code, body["version"], body["republished"]) == (
        201, 2, [{"key": "complaint_standard", "version": 2}])


def test_employees_see_tables_but_cannot_publish_or_edit(acme, login):
    service = login(acme.email("service"))
    assert 'data-key="grading"' in service.get("/decisions/").get_data(as_text=True)
    assert upload(service, STRICTER, "").status_code == 403
    assert service.get("/decisions/grading/edit").status_code == 403
