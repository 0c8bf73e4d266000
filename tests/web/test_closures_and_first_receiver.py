"""Closures told apart and the first receiver (首问负责), through the pages as people use them.

An end event says how it closes a complaint (its `closure` property: normal, invalid, abnormal) and the shipped
procedures say it; a closed complaint's page and the register (its badge and its status tabs) tell a normal closure
(已结案) from one closed as invalid (无效投诉已关闭) and an abnormal one (非正常关闭). Whoever registers a complaint is
its first receiver: named on its page and in the register, it is theirs under "Mine" until it is closed (with those
they hold a task of or worked on), and they are told (in the app and by mail) when it is closed or reopened.
"""
from __future__ import annotations

import importlib.util
import re

import lxml.html
import pytest
import sqlalchemy as sa

from complaints.models import Complaint
from conftest import ROOT
from db import utcnow
from engine.records import InboxTask
from engine.repository.specs import compile_process
from engine.repository.xmlload import load_xml
from notifications.mail import Post, send_pending
from notifications.models import Notification
from test_pages import claim, complete, inbox, instance_id, register, text
from test_procedure_walks import People, as_posted, held_from_the_start, people
from test_standard_procedure import (
    ASSIGN,
    CS,
    CUSTOMER_CAUSED,
    EFFECTIVE,
    GRADE,
    IMPLEMENT,
    LAST_UNREACHED,
    MANAGER_APPROVES,
    NO_VISIT,
    PLAN,
    QUALITY_APPROVES,
    REPLY,
    SATISFIED,
    UNREACHED,
    UNSATISFIED,
    VALID,
    WORKER,
    S,
)

INVALID = [S("check_validity", CS, {"valid": False, "validity_note": "不属于本公司产品"}, "flow_valid_no"),
           S("reply_invalid", CS, {"reply_content": "经核实，该产品非本公司生产。"})]
NORMAL = [VALID, GRADE, ASSIGN, CUSTOMER_CAUSED, REPLY, SATISFIED]
ABNORMAL = [VALID, GRADE, ASSIGN, CUSTOMER_CAUSED, REPLY, UNREACHED, UNREACHED, LAST_UNREACHED]
UP_TO_CALLBACK = [VALID, GRADE, ASSIGN, NO_VISIT, PLAN, QUALITY_APPROVES, MANAGER_APPROVES, IMPLEMENT, EFFECTIVE]


def walk(database, engine, people, case: int, rows: list) -> None:
    """Work the rows on this case (among others open in the same inboxes) as their lanes' employees do: find its
    task in the inbox, claim it unless the procedure gave it to them, submit the form."""
    for row in rows:
        person = people[WORKER[row.lane]]
        [task_id] = [task for task, element, html in inbox(person)
                     if element == row.task and f'href="/complaints/{case}"' in html]
        if not held_from_the_start(engine, database, case, row.task):
            assert claim(person, task_id).status_code == 303
        response = complete(person, task_id, as_posted(row.data))
        assert response.status_code == 303, text(response)


def registered_by(people: People, key: str, complaint_data: dict, **changes) -> int:
    """A complaint registered through the page by `key`; its instance id."""
    response = register(people[key], {**complaint_data, **changes})
    assert response.status_code == 303, text(response)
    return instance_id(response)


def number_of(database, case: int) -> str:
    with database.session() as s:
        return s.scalar(sa.select(Complaint.number).where(Complaint.instance_id == case))


def register_rows(browser, query: str = "") -> dict[str, lxml.html.HtmlElement]:
    """The register's rows at /complaints/<query>, by complaint number."""
    page = browser.get(f"/complaints/{query}")
    assert page.status_code == 200
    rows = lxml.html.fromstring(page.get_data(as_text=True)).xpath("//table[@class='list']/tbody/tr")
    return {row.xpath(".//a[@class='number']")[0].text_content(): row for row in rows}


def badge(element) -> tuple[str, str | None, str]:
    """A status badge's class, closure and text."""
    [found] = element.xpath(".//span[contains(@class, 'badge')]")
    return found.get("class"), found.get("data-closure"), found.text_content().strip()


def page_badge(browser, case: int):
    page = browser.get(f"/complaints/{case}")
    assert page.status_code == 200
    return badge(lxml.html.fromstring(page.get_data(as_text=True)).xpath("//div[@class='pagehead']/h1")[0])


# -- the diagrams say it -----------------------------------------------------------------------------------------

def test_the_shipped_procedures_say_how_each_of_their_closing_end_events_closes():
    closures = {}
    for key in ("complaint_standard", "complaint_ecommerce", "complaint_graded", "complaint_qp07"):
        xml = (ROOT / "processes" / f"{key}.bpmn").read_bytes()
        closures[key] = compile_process(load_xml(xml), "x").closures
    assert closures == {
        "complaint_standard": {"end_invalid": "invalid", "end_abnormal": "abnormal", "end_closed": "normal"},
        "complaint_ecommerce": {"end_invalid": "invalid", "end_archived": "normal"},
        "complaint_graded": {"end_invalid": "invalid", "end_abnormal": "abnormal", "end_unreachable": "abnormal",
                             "end_closed": "normal"},
        "complaint_qp07": {"end_customer_caused": "normal", "end_closed": "normal"},
    }


def test_an_end_event_without_a_known_closure_closes_normally():
    xml = (ROOT / "processes" / "complaint_standard.bpmn").read_bytes()
    xml = xml.replace(b'name="closure" value="invalid"', b'name="closure" value="whatever"')
    compiled = compile_process(load_xml(xml), "x")
    assert compiled.closure_of("end_invalid") == "normal" and compiled.closure_of(None) == "normal"
    assert compiled.closure_of("end_abnormal") == "abnormal"


# -- the register and the complaint page tell closures apart -----------------------------------------------------

@pytest.mark.parametrize("path, status, closure, shown", [
    (NORMAL, "completed", "normal", "已结案"),
    (INVALID, "invalid", "invalid", "无效投诉已关闭"),
    (ABNORMAL, "abnormal", "abnormal", "非正常关闭"),
], ids=["normal", "invalid", "abnormal"])
def test_a_closed_complaint_shows_how_it_closed_on_its_page_and_under_its_own_register_tab_only(
        database, engine, acme, people, complaint_data, path, status, closure, shown):
    running = registered_by(people, "service", complaint_data)
    case = registered_by(people, "service", complaint_data)
    walk(database, engine, people, case, path)
    number, auditor = number_of(database, case), people["auditor"]
    assert page_badge(auditor, case) == ("badge status-completed", closure, shown)
    assert badge(register_rows(auditor)[number]) == ("badge status-completed", closure, shown)
    for tab in ("running", "completed", "invalid", "abnormal", "error"):
        listed = set(register_rows(auditor, f"?status={tab}"))
        assert (number in listed, number_of(database, running) in listed) == (tab == status, tab == "running"), tab
    with database.session() as s:
        assert s.scalar(sa.select(Complaint.closure).where(Complaint.instance_id == case)) == closure


def test_the_register_offers_the_five_statuses_in_every_language(acme, people):
    auditor = people["auditor"]
    words = {"zh_Hans": ["全部", "处理中", "已结案", "无效投诉已关闭", "非正常关闭", "异常中止"],
             "zh_Hant": ["全部", "處理中", "已結案", "無效投訴已關閉", "非正常關閉", "異常中止"],
             "en": ["All", "In progress", "Closed", "Closed as invalid", "Closed abnormally", "Stopped by an error"]}
    for locale, expected in words.items():
        assert auditor.post(f"/language/{locale}", {"next": "/"}, token_from="/").status_code == 302
        page = lxml.html.fromstring(auditor.get("/complaints/").get_data(as_text=True))
        [tabs, _whose] = page.xpath("//nav[@class='tabs']")
        assert [a.text_content().strip() for a in tabs.xpath("./a")] == expected


def test_an_unknown_status_filters_nothing_and_mine_keeps_the_status_chosen(people, complaint_data, database):
    case = registered_by(people, "service", complaint_data)
    number = number_of(database, case)
    assert number in register_rows(people["service"], "?status=closed-ish")
    page = people["service"].get("/complaints/?status=running&mine=1").get_data(as_text=True)
    assert 'href="/complaints/?status=running"' in page  # "Everyone's" keeps the status
    assert 'href="/complaints/?status=invalid&amp;mine=1"' in page  # the status tabs keep "Mine"


# -- the first receiver ------------------------------------------------------------------------------------------

def test_who_registers_a_complaint_is_its_first_receiver_on_its_page_and_in_the_register(
        acme, people, complaint_data, database):
    case = registered_by(people, "service2", complaint_data)
    auditor = people["auditor"]
    page = lxml.html.fromstring(auditor.get(f"/complaints/{case}").get_data(as_text=True))
    [named] = page.xpath("//dd[@class='first-receiver']")
    assert named.text_content() == "Service2"
    row = register_rows(auditor)[number_of(database, case)]
    assert row.xpath("./td")[-1].text_content() == "Service2"
    assert "首问负责人" in text(auditor.get("/complaints/"))
    with database.session() as s:
        assert s.scalar(sa.select(Complaint.first_receiver_id).where(Complaint.instance_id == case)) \
            == acme.users["service2"].id


def test_mine_lists_the_open_complaints_i_received_first_hold_a_task_of_or_worked_on_until_closed(
        database, engine, acme, people, complaint_data):
    received = registered_by(people, "service2", complaint_data)
    held = registered_by(people, "service", complaint_data)
    worked = registered_by(people, "service", complaint_data)
    others = registered_by(people, "service", complaint_data)
    service2 = people["service2"]
    # service2 holds the check of `held`, and checked `worked` (its next task went to quality)
    assert service2.post(f"/tasks/{open_task(database, held)}/claim", token_from="/").status_code == 303
    walk(database, engine, Instead(people, service=service2), worked, [VALID])
    numbers = {case: number_of(database, case) for case in (received, held, worked, others)}
    assert set(register_rows(service2, "?mine=1")) == {numbers[received], numbers[held], numbers[worked]}
    assert set(register_rows(people["manager"], "?mine=1")) == set()
    # closed: no longer mine, though still in the register
    walk(database, engine, people, received, INVALID)
    assert set(register_rows(service2, "?mine=1")) == {numbers[held], numbers[worked]}
    assert set(register_rows(service2, "?mine=1&status=invalid")) == set()
    assert numbers[received] in register_rows(service2, "?status=invalid")


def open_task(database, case: int) -> str:
    """The id of the case's one open task (as its link in the inbox names it)."""
    with database.session() as s:
        return s.scalar(sa.select(InboxTask.id).where(InboxTask.instance_id == case))


class Instead:
    """The people, with someone else standing in for one of them (their lane's tasks go to that browser)."""

    def __init__(self, people: People, **browsers) -> None:
        self.people, self.browsers = people, browsers

    def __getitem__(self, key: str):
        return self.browsers.get(key) or self.people[key]


def told(database, user_id: int, kind: str, case: int) -> list[Notification]:
    with database.session() as s:
        return list(s.scalars(sa.select(Notification).where(
            Notification.user_id == user_id, Notification.kind == kind, Notification.instance_id == case)))


def test_the_first_receiver_is_told_in_the_app_and_by_mail_when_the_complaint_is_closed(
        app, database, engine, acme, people, complaint_data, mailbox):
    case = registered_by(people, "service2", complaint_data)
    walk(database, engine, people, case, ABNORMAL)
    number = number_of(database, case)
    [notice] = told(database, acme.users["service2"].id, "closed", case)
    assert notice.params == {"number": number, "closure": "abnormal"}
    listed = text(people["service2"].get("/notifications"))
    assert f"投诉 {number} 已关闭：非正常关闭" in listed
    assert told(database, acme.users["service"].id, "closed", case) == []  # they closed it; not the first receiver
    post = Post(app.config, app.extensions["kesu.db"], app.extensions["kesu.engine"])
    send_pending(post, utcnow())
    [mail] = [m for m in mailbox.to("service2@acme.test") if "关闭" in m["Subject"]]  # and the tasks offered
    assert mail["Subject"] == f"投诉 {number} 已关闭：非正常关闭"


def test_the_first_receiver_who_closes_it_is_not_told(
        database, engine, acme, people, complaint_data):
    case = registered_by(people, "service", complaint_data)
    walk(database, engine, people, case, INVALID)
    assert told(database, acme.users["service"].id, "closed", case) == []


def test_the_first_receiver_is_told_when_the_customer_sends_the_complaint_back(
        database, engine, acme, people, complaint_data):
    case = registered_by(people, "service2", complaint_data)
    walk(database, engine, people, case, [*UP_TO_CALLBACK, UNSATISFIED])
    [notice] = told(database, acme.users["service2"].id, "reopened", case)
    assert notice.params == {"number": number_of(database, case)}
    assert f"投诉 {number_of(database, case)} 已重新打开" in text(people["service2"].get("/notifications"))


def test_a_first_receiver_who_also_worked_on_it_is_told_of_a_reopening_once(
        database, engine, acme, people, complaint_data):
    case = registered_by(people, "service2", complaint_data)
    walk(database, engine, Instead(people, service=people["service2"]), case,
         [VALID])  # service2 checked it: a worker and the first receiver
    walk(database, engine, people, case, [*UP_TO_CALLBACK[1:], UNSATISFIED])
    assert len(told(database, acme.users["service2"].id, "reopened", case)) == 1


# -- existing complaints -----------------------------------------------------------------------------------------

def test_the_migration_fills_the_first_receiver_and_the_closure_of_existing_complaints(
        database, engine, acme, people, complaint_data):
    cases = {closure: registered_by(people, "service2", complaint_data)
             for closure in ("normal", "invalid", "abnormal", None)}
    for closure, path in (("normal", NORMAL), ("invalid", INVALID), ("abnormal", ABNORMAL)):
        walk(database, engine, people, cases[closure], path)
    with database.session() as s:
        s.execute(sa.update(Complaint).values(first_receiver_id=None, closure=None))
    spec = importlib.util.spec_from_file_location(
        "migration_0009", ROOT / "migrations" / "versions" / "0009_closure_kinds_first_receiver.py")
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with database.session() as s:
        migration.fill(s.connection())
    with database.session() as s:
        rows = {case: (receiver, closure) for case, receiver, closure in s.execute(
            sa.select(Complaint.instance_id, Complaint.first_receiver_id, Complaint.closure))}
    assert {closure: rows[case] for closure, case in cases.items()} == {
        closure: (acme.users["service2"].id, closure) for closure in cases}
