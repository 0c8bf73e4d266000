"""The corrections page: an admin edits a complaint's data, retries it after an error, skips a task and rewinds it,
each with a reason the history shows; a refusal keeps what was typed; other roles get 403, other companies 404."""
from __future__ import annotations

import html

import pytest
import sqlalchemy as sa

from complaints.models import Complaint
from conftest import GRADING, GROUPS
from engine.records import Event, Instance
from engine.repository.publishing import publish
from test_isolation import FRAGILE

REASON = "客户补充了发票"


def ok(response, status: int = 200):
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_json()


def registered(acme, api, complaint_data, graded: bool = False) -> int:
    """A complaint by the API: validity checked (grade_complaint open), and graded too if asked (assign open)."""
    service, quality = api(acme.email("service")), api(acme.email("quality"))
    case = ok(service.post("/processes/complaint_standard/instances", {"data": complaint_data}), 201)
    ok(service.post(f"/tasks/{case['tasks'][0]['id']}/complete", {"data": {"valid": True}}))
    if graded:
        [grade] = ok(quality.get(f"/instances/{case['id']}"))["tasks"]
        ok(quality.post(f"/tasks/{grade['id']}/complete", {"data": GRADING}))
    return case["id"]


def admin_in_english(login, company):
    """The company's admin, reading the pages in English (the texts asserted on are the English ones)."""
    admin = login(company.email("admin"))
    admin.post("/language/en", {"next": "/"}, token_from="/")
    return admin


def open_tasks(api, acme, case: int) -> list[dict]:
    return ok(api(acme.email("admin")).get(f"/instances/{case}"))["tasks"]


def events(database, case: int) -> list[Event]:
    with database.session() as s:
        return list(s.scalars(sa.select(Event).where(Event.instance_id == case).order_by(Event.seq)))


def post(browser, case: int, form: str, data: dict, follow: bool = True):
    return browser.post(f"/complaints/{case}/corrections/{form}", data, token_from=f"/complaints/{case}/corrections",
                        follow_redirects=follow)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_admin_corrects_the_data_and_the_history_shows_the_reason_and_before_after(
        database, acme, api, login, complaint_data):
    case = registered(acme, api, complaint_data)
    admin = admin_in_english(login, acme)
    page = text(admin.get(f"/complaints/{case}/corrections"))
    assert 'name="value:contact"' in page and complaint_data["contact"] in page
    assert 'name="value:valid"' in page and "<option value=\"true\" selected>" in page

    response = post(admin, case, "data", {"value:contact": "021-5555 0102", "value:valid": "true",
                                          "value:content": complaint_data["content"], "reason": REASON})
    assert response.status_code == 200 and "flash-success" in text(response)
    [event] = events(database, case)[-1:]
    assert (event.type, event.actor_id) == ("data_corrected", acme.users["admin"].id)
    assert event.data == {"reason": REASON, "changes": {"contact": {"from": complaint_data["contact"],
                                                                    "to": "021-5555 0102"}}}
    history = text(admin.get(f"/complaints/{case}"))
    assert "Data corrected" in history and REASON in history and "021-5555 0102" in history


def test_corrected_registration_fields_reach_the_complaint_list_and_page(database, acme, api, login, complaint_data):
    case = registered(acme, api, complaint_data)
    admin = admin_in_english(login, acme)
    response = post(admin, case, "data", {"value:customer_name": "上海明达新材料有限公司", "value:category": "delivery",
                                          "reason": REASON})
    assert response.status_code == 200 and "flash-success" in text(response)
    with database.session() as s:
        complaint = s.scalar(sa.select(Complaint).where(Complaint.instance_id == case))
        assert (complaint.customer_name, complaint.category) == ("上海明达新材料有限公司", "delivery")
    assert "上海明达新材料有限公司" in text(admin.get("/complaints/"))


def test_correction_to_an_unknown_category_code_is_refused_and_nothing_is_written(
        database, acme, api, login, complaint_data):
    case = registered(acme, api, complaint_data)
    admin = admin_in_english(login, acme)
    before = len(events(database, case))
    response = post(admin, case, "data", {"value:category": "bribery", "reason": REASON})
    assert response.status_code == 400 and "bribery is not a known code for category" in text(response)
    assert len(events(database, case)) == before
    with database.session() as s:
        assert s.scalar(sa.select(Complaint.category).where(Complaint.instance_id == case)) == \
            complaint_data["category"]


def test_refused_correction_keeps_the_typed_values_and_says_why(database, acme, api, login, complaint_data):
    case = registered(acme, api, complaint_data, graded=True)
    admin = admin_in_english(login, acme)
    before = len(events(database, case))
    response = post(admin, case, "data", {"value:handling_cost": "lots", "reason": REASON})
    assert response.status_code == 400
    page = text(response)
    assert 'value="lots"' in page and REASON in page and "must be a whole number" in page
    assert len(events(database, case)) == before

    response = post(admin, case, "data", {"value:handling_cost": "30000", "reason": " "})
    assert response.status_code == 400 and 'value="30000"' in text(response) and "Give the reason" in text(response)
    assert len(events(database, case)) == before


def test_admin_retries_a_stopped_case_and_its_task_opens_again(database, acme, api, login, complaint_data):
    with database.session() as s:
        publish(s, acme.id, FRAGILE, acme.users["owner"].id, "", GROUPS)
    service = api(acme.email("service"))
    case = ok(service.post("/processes/fragile/instances", {"data": complaint_data}), 201)
    assert service.post(f"/tasks/{case['tasks'][0]['id']}/complete", {"data": {"seen": True}}).status_code == 422
    admin = admin_in_english(login, acme)
    assert "corrections/retry" in text(admin.get(f"/complaints/{case['id']}/corrections"))

    response = post(admin, case["id"], "retry", {"reason": "the script is fixed in version 2"})
    assert "flash-success" in text(response)
    with database.session() as s:
        assert s.get(Instance, case["id"]).status == "running"
    assert events(database, case["id"])[-1].type == "case_retried"
    assert [t["element_id"] for t in open_tasks(api, acme, case["id"])] == ["look"]


def test_admin_skips_a_task_and_a_skip_the_procedure_cannot_follow_is_refused(database, acme, api, login,
                                                                             complaint_data):
    case = registered(acme, api, complaint_data)
    admin = admin_in_english(login, acme)
    [grade] = open_tasks(api, acme, case)
    response = post(admin, case, "skip", {"task": grade["id"], "reason": "graded on paper"})
    assert response.status_code == 400 and "(grade_complaint) failed" in text(response)
    assert "graded on paper" in text(response)

    response = post(admin, case, "skip", {"task": "00000000-0000-0000-0000-000000000000", "reason": "gone"})
    assert response.status_code == 409 and "cannot be completed now" in text(response)

    case = registered(acme, api, complaint_data, graded=True)
    [assign] = open_tasks(api, acme, case)
    response = post(admin, case, "skip", {"task": assign["id"], "reason": "assigned by phone"})
    assert "flash-success" in text(response)
    assert events(database, case)[-1].type == "task_skipped"
    assert [t["element_id"] for t in open_tasks(api, acme, case)] == ["analyse_cause"]


def test_admin_rewinds_to_a_step_end_offered_on_the_page(database, acme, api, login, complaint_data):
    case = registered(acme, api, complaint_data, graded=True)
    admin = admin_in_english(login, acme)
    validity_end = next(e.seq for e in events(database, case) if e.type == "gateway_taken")
    page = text(admin.get(f"/complaints/{case}/corrections"))
    assert f'<option value="{validity_end}"' in page
    assert f'<option value="{events(database, case)[-1].seq}"' not in page  # where it stands now

    response = post(admin, case, "rewind", {"to_seq": validity_end, "reason": "graded the wrong complaint"})
    assert "flash-success" in text(response)
    last = events(database, case)[-1]
    assert (last.type, last.data["to_seq"], last.data["open_after"]) == ("case_rewound", validity_end,
                                                                          ["grade_complaint"])
    assert [t["element_id"] for t in open_tasks(api, acme, case)] == ["grade_complaint"]
    assert f"Rewound to just after event #{validity_end}" in text(admin.get(f"/complaints/{case}"))
    replay = text(admin.get(f"/complaints/{case}/replay"))
    assert "graded the wrong complaint" in replay and "stopped matching the record" not in replay


FORMS = ["data", "retry", "skip", "rewind"]


@pytest.mark.parametrize("role", ["service", "auditor", "owner"])
def test_only_admins_may_correct(database, acme, api, login, complaint_data, role):
    case = registered(acme, api, complaint_data)
    browser = login(acme.email(role))
    before = len(events(database, case))
    assert browser.get(f"/complaints/{case}/corrections").status_code == 403
    for form in FORMS:
        response = browser.post(f"/complaints/{case}/corrections/{form}", {"reason": REASON, "to_seq": 1},
                                token_from=f"/complaints/{case}")
        assert response.status_code == 403
    assert len(events(database, case)) == before


def test_admin_of_another_company_gets_404(database, acme, rival, api, login, complaint_data):
    case = registered(acme, api, complaint_data)
    intruder = login(rival.email("admin"))
    before = len(events(database, case))
    assert intruder.get(f"/complaints/{case}/corrections").status_code == 404
    for form in FORMS:
        response = intruder.post(f"/complaints/{case}/corrections/{form}", {"reason": REASON, "to_seq": 1},
                                 token_from="/complaints/")
        assert response.status_code == 404
    assert len(events(database, case)) == before
