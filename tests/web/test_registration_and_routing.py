"""Registering in the browser on any of the company's procedures (the last one used offered first), and the
assignment form choosing a department and a responsible person who then holds the department's tasks."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from accounts.models import User
from complaints.models import Complaint
from conftest import GRADING, GROUPS, ROOT
from engine.records import Instance, ProcessVersion
from engine.repository.publishing import publish
from test_pages import claim, complete, inbox, instance_id, task_on, text

PROCESSES = ROOT / "processes"
OPTION = re.compile(r'<option(?: selected)? value="([^"]*)"(?: selected)?>([^<]*)</option>')


def publish_more(database, company, *files: str) -> None:
    with database.session() as s:
        for name in files:
            publish(s, company.id, (PROCESSES / name).read_bytes(), company.users["owner"].id, "", GROUPS)


def options(page: str, name: str) -> list[tuple[str, str]]:
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select, f"no select called {name}"
    return OPTION.findall(select.group(1))


def selected(page: str, name: str) -> str:
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S).group(1)
    return re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', select).group(1)


def registered_on(database, number_response) -> str:
    with database.session() as s:
        instance = s.get(Instance, instance_id(number_response))
        return s.get(ProcessVersion, instance.version_id).process_key


def test_one_published_procedure_is_used_without_asking(login, acme, database, complaint_data):
    service = login(acme.email("service"))
    page = text(service.get("/complaints/new"))
    assert 'name="procedure"' in page and "<select" not in page.split('name="customer_name"')[0].split("<form")[-1]
    response = service.post("/complaints/new", complaint_data, token_from="/complaints/new")
    assert response.status_code == 303 and registered_on(database, response) == "complaint_standard"


def test_registration_offers_every_procedure_people_start_and_remembers_the_choice(login, acme, database,
                                                                                  complaint_data):
    publish_more(database, acme, "complaint_qp07.bpmn", "complaint_ecommerce.bpmn", "supervision_monthly.bpmn")
    service = login(acme.email("service"))
    page = text(service.get("/complaints/new"))
    offered = dict(options(page, "procedure"))
    assert sorted(offered) == ["complaint_ecommerce", "complaint_qp07", "complaint_standard"]  # not the monthly job
    assert offered["complaint_qp07"] == "QP07 客户投诉处理程序"  # in the page's language
    assert selected(page, "procedure") == "complaint_standard"

    response = service.post("/complaints/new", {**complaint_data, "procedure": "complaint_qp07"},
                            token_from="/complaints/new")
    assert response.status_code == 303 and registered_on(database, response) == "complaint_qp07"
    assert selected(text(service.get("/complaints/new")), "procedure") == "complaint_qp07"
    other = login(acme.email("service2"))
    assert selected(text(other.get("/complaints/new")), "procedure") == "complaint_standard"  # per user


def test_registration_refuses_a_procedure_that_is_not_offered_and_keeps_what_was_typed(login, acme, rival, database,
                                                                                      complaint_data):
    publish_more(database, acme, "supervision_monthly.bpmn")
    service = login(acme.email("service"))
    for key in ("supervision_monthly", "no_such_procedure"):
        response = service.post("/complaints/new", {**complaint_data, "procedure": key}, token_from="/complaints/new")
        assert response.status_code == 400
        assert complaint_data["content"] in text(response)
    assert database.sessionmaker().scalar(sa.select(sa.func.count()).select_from(Complaint)) == 0


def test_without_a_published_procedure_registration_says_so(login, acme, database):
    with database.session() as s:
        s.execute(sa.update(User).where(User.id == acme.users["owner"].id).values(last_procedure=None))
        s.execute(sa.delete(ProcessVersion).where(ProcessVersion.company_id == acme.id))
    page = text(login(acme.email("service")).get("/complaints/new"))
    assert "尚未发布任何投诉处理流程" in page and 'name="customer_name"' not in page


def _to_assignment(login, acme, complaint_data):
    service, quality = login(acme.email("service")), login(acme.email("quality"))
    service.post("/complaints/new", complaint_data, token_from="/complaints/new")
    check = task_on(service, "check_validity")
    claim(service, check)
    complete(service, check, {"valid": "true"})
    grade = task_on(quality, "grade_complaint")
    claim(quality, grade)
    complete(quality, grade, {key: ("true" if value is True else "false" if value is False else value)
                              for key, value in GRADING.items()})
    assign = task_on(quality, "assign")
    claim(quality, assign)
    return quality, assign


def test_the_assignment_form_offers_the_company_s_groups_and_working_users(login, acme, rival, complaint_data):
    quality, assign = _to_assignment(login, acme, complaint_data)
    page = text(quality.get(f"/tasks/{assign}"))
    groups = [value for value, _ in options(page, "handling_department")]
    people = dict(options(page, "responsible_person"))
    assert groups == ["", *sorted(GROUPS)]
    assert "handler@acme.test" in people and people["handler@acme.test"] == "Handler · 处理部门"
    assert "auditor@acme.test" not in people and not any(email.endswith("rival.test") for email in people)


def test_the_responsible_person_holds_the_department_s_next_task_and_sees_it_in_the_inbox(login, acme,
                                                                                          complaint_data):
    quality, assign = _to_assignment(login, acme, complaint_data)
    response = complete(quality, assign, {"handling_department": "Handling Department",
                                          "responsible_person": acme.email("service2")})
    assert response.status_code == 303
    chosen = login(acme.email("service2"))
    [(task_id, element, row)] = inbox(chosen, "mine")
    assert element == "analyse_cause" and "Service2" in row
    assert [element for _, element, _ in inbox(login(acme.email("handler")), "all")] == ["analyse_cause"]
    handler_row = inbox(login(acme.email("handler")), "all")[0][2]
    assert "Service2" in handler_row  # the department sees who holds it
    case = re.search(r'href="(/complaints/\d+)"', text(chosen.get(f"/tasks/{task_id}"))).group(1)
    page = text(chosen.get(case))
    assert "“分析原因和责任”交由 Service2 处理" in page
    assert '<span title="service2@acme.test">Service2</span>' in page  # the chosen person by name


@pytest.mark.parametrize("field, value, message", [
    ("responsible_person", "nobody@acme.test", "本公司没有使用此电子邮件的在职用户"),
    ("handling_department", "生产部", "本公司没有此名称的组"),
])
def test_the_assignment_form_names_an_unknown_person_or_group_and_keeps_the_rest(login, acme, complaint_data, field,
                                                                                value, message):
    quality, assign = _to_assignment(login, acme, complaint_data)
    data = {"handling_department": "Quality", "responsible_person": acme.email("quality"), field: value}
    response = complete(quality, assign, data)
    assert response.status_code == 400 and message in text(response)
    kept = "Quality" if field == "responsible_person" else acme.email("quality")
    assert kept in text(response)
