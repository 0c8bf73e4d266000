"""SLA policies as process owners set them, and the clocks employees see: the inbox's deadlines in working time,
sorting by due, the overdue filter, the complaint page's clocks, and acknowledging an escalation."""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import force_locale

from complaints import queries, sla
from complaints.registration import register as register_complaint
from complaints.sla import SlaClock, SlaPolicy
from db import utcnow
from engine.records import Instance, ProcessVersion
from test_pages import ROW, in_english, text
from web.inbox import working_time
from web.sla import target_text

POLICY = {"grade": "", "category": "", "response_target": "", "resolution_target": "5 working days",
          "warn_percent": "80", "escalate_to": "Management", "note": "QP07 rev. B"}


def save_policy(browser, **changes):
    return browser.post("/sla/new", {**POLICY, **changes}, token_from="/sla/new")


def register(database, engine, acme, complaint_data) -> int:
    with database.session() as s:
        version = s.get(ProcessVersion, acme.version.id)
        return register_complaint(s, engine, version, acme.actor("service"), complaint_data, acme.timezone).instance_id


def set_policy(database, acme, **values) -> None:
    with database.session() as s:
        sla.save_policy(s, acme.id, None, grade=values.pop("grade", ""), category=values.pop("category", ""),
                        **values)


def deadline_cells(browser, path: str = "/") -> list[tuple[str, str]]:
    """(element, the deadlines cell's text) of each inbox row, top to bottom."""
    rows = ROW.findall(browser.get(path).get_data(as_text=True))
    return [(element, " ".join(re.sub(r"<[^>]+>", " ", re.search(r'<td class="deadlines">(.*?)</td>', body, re.S)
                                      .group(1)).split())) for _task, element, body in rows]


# -- policies -----------------------------------------------------------------------------------------------------

def test_owner_sets_resolve_within_five_working_days_warn_at_80_percent(login, acme, database):
    owner = login(acme.email("owner"))
    in_english(owner)
    response = save_policy(owner, grade="level:1")
    assert response.status_code == 303
    page = text(owner.get("/sla/"))
    assert "Level 1" in page and "5 working days" in page and "80 %" in page and "Management" in page
    with database.session() as s:
        [saved] = sla.current_policies(s, acme.id)
        assert (saved.grade, saved.resolution_target, saved.warn_fraction, saved.version) == ("level:1",
                                                                                           "5 working days", 0.8, 1)


def test_a_target_that_cannot_be_counted_is_refused_and_everything_typed_stays(login, acme, database):
    owner = login(acme.email("owner"))
    in_english(owner)
    response = save_policy(owner, resolution_target="five days", response_target="4 working hours", note="typed")
    assert response.status_code == 400
    page = text(response)
    assert "Write business time" in page
    assert 'value="five days"' in page and 'value="4 working hours"' in page and "typed" in page
    with database.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(SlaPolicy)) == 0


def test_changing_a_policy_saves_a_new_version_and_keeps_the_old_one(login, acme, database):
    owner = login(acme.email("owner"))
    save_policy(owner)
    with database.session() as s:
        [first] = sla.current_policies(s, acme.id)
    response = owner.post(f"/sla/{first.id}", {**POLICY, "resolution_target": "3 working days",
                                               "grade": "level:1", "note": "faster"}, token_from=f"/sla/{first.id}")
    assert response.status_code == 303
    with database.session() as s:
        [current] = sla.current_policies(s, acme.id)
        assert (current.version, current.resolution_target, current.grade) == (2, "3 working days", "")
        assert [p.note for p in sla.history(s, acme.id, "", "")] == ["faster", "QP07 rev. B"]
    page = text(owner.get(response.headers["Location"]))
    assert "v1" in page and "v2" in page


def test_a_second_policy_for_the_same_grade_and_category_is_refused(login, acme):
    owner = login(acme.email("owner"))
    in_english(owner)
    save_policy(owner)
    response = save_policy(owner, resolution_target="1 working day")
    assert response.status_code == 400
    assert "change it instead" in text(response)


def test_retiring_a_policy_stops_new_clocks(login, acme, database, engine, complaint_data):
    owner = login(acme.email("owner"))
    save_policy(owner)
    with database.session() as s:
        [policy] = sla.current_policies(s, acme.id)
    assert owner.post(f"/sla/{policy.id}/retire", token_from=f"/sla/{policy.id}").status_code == 303
    case = register(database, engine, acme, complaint_data)
    with database.session() as s:
        assert sla.current_policies(s, acme.id) == []
        assert sla.clocks_of(s, [case]) == {}


def test_employees_cannot_set_policies_and_owners_cannot_see_another_companys(login, acme, rival, database):
    assert login(acme.email("service")).get("/sla/").status_code == 403
    set_policy(database, rival, resolution_target="2 working days")
    with database.session() as s:
        [theirs] = sla.current_policies(s, rival.id)
    owner = login(acme.email("owner"))
    assert owner.get(f"/sla/{theirs.id}").status_code == 404
    assert owner.post(f"/sla/{theirs.id}/retire", token_from="/sla/").status_code == 404


# -- what employees see ---------------------------------------------------------------------------------------------

def test_employee_sees_the_resolution_clock_in_working_time_in_the_inbox(login, acme, database, engine,
                                                                          complaint_data):
    set_policy(database, acme, resolution_target="5 working days")
    register(database, engine, acme, complaint_data)
    service = login(acme.email("service"))
    in_english(service)
    [(element, cell)] = deadline_cells(service)
    assert element == "check_validity"
    assert "Task due" in cell and "Resolution" in cell and " left" in cell


def test_the_overdue_filter_and_sorting_by_due(login, acme, database, engine, complaint_data):
    set_policy(database, acme, resolution_target="5 working days")
    relaxed = register(database, engine, acme, complaint_data)
    set_policy(database, acme, resolution_target="PT0S")  # every case registered from now on is overdue at once
    late = register(database, engine, acme, complaint_data)
    service = login(acme.email("service"))
    in_english(service)

    def numbers(path: str) -> list[str]:
        return re.findall(r'class="number">([^<]+)</a>', service.get(path).get_data(as_text=True))

    with database.session() as s:
        keys = {i.id: i.business_key for i in s.scalars(sa.select(Instance))}
    assert numbers("/?overdue=1") == [keys[late]]
    assert "Overdue" in text(service.get("/?overdue=1"))
    assert numbers("/?sort=due") == [keys[late], keys[relaxed]]
    assert numbers("/?sort=due&overdue=1") == [keys[late]]


def test_the_complaint_page_shows_each_clock(login, acme, database, engine, complaint_data):
    set_policy(database, acme, response_target="4 working hours", resolution_target="5 working days")
    case = register(database, engine, acme, complaint_data)
    page = login(acme.email("service"))
    in_english(page)
    body = text(page.get(f"/complaints/{case}"))
    assert "SLA clocks" in body and "4 working hours" in body and "5 working days" in body
    assert body.count('data-kind="') == 2


def test_the_next_level_up_acknowledges_an_escalated_breach(login, acme, database, engine, complaint_data):
    set_policy(database, acme, resolution_target="PT0S", escalate_to="Management")
    case = register(database, engine, acme, complaint_data)
    assert sla.check_clocks(database.sessionmaker, engine, utcnow() + timedelta(seconds=1)) == 1
    with database.session() as s:
        clock = s.scalar(sa.select(SlaClock).where(SlaClock.instance_id == case))
    manager, service = login(acme.email("manager")), login(acme.email("service"))
    in_english(manager)
    assert "Escalated to you" in text(manager.get("/"))
    assert "Escalated to you" not in text(service.get("/"))
    assert service.post(f"/sla/escalations/{clock.id}", {"text": "called"}, token_from="/").status_code == 403
    assert manager.post(f"/sla/escalations/{clock.id}", {"text": ""}, token_from="/").status_code == 303
    response = manager.post(f"/sla/escalations/{clock.id}", {"text": "Called the customer, replacement sent"},
                            token_from="/")
    assert response.status_code == 303
    assert "Escalated to you" not in text(manager.get("/"))
    with database.session() as s:
        done = s.get(SlaClock, clock.id)
        assert (done.acknowledged_by_id, done.acknowledgement) == (acme.users["manager"].id,
                                                                   "Called the customer, replacement sent")
    page = text(manager.get(f"/complaints/{case}"))
    assert "Called the customer, replacement sent" in page
    history = page[page.index("Missed deadline acknowledged"):]  # the sealed history, below the clocks
    assert "Deadline missed: Resolution" in page and "Called the customer, replacement sent" in history


def test_an_escalation_acknowledged_while_the_page_read_it_keeps_the_first_answer(login, acme, database, engine,
                                                                                  complaint_data, monkeypatch):
    """The write runs in its own unit of work on the clock as the page read it: an acknowledgement committed in
    between fails the clock's version check instead of being overwritten."""
    set_policy(database, acme, resolution_target="PT0S", escalate_to="Management")
    case = register(database, engine, acme, complaint_data)
    sla.check_clocks(database.sessionmaker, engine, utcnow() + timedelta(seconds=1))
    with database.session() as s:
        clock_id = s.scalar(sa.select(SlaClock.id).where(SlaClock.instance_id == case))
    read = queries.sla_clock

    def read_then_someone_else_answers(session, company_id, wanted):
        clock = read(session, company_id, wanted)
        with database.session() as s:
            sla.acknowledge(s, engine, s.get(SlaClock, wanted), acme.users["admin"].id, "first", utcnow())
        return clock
    monkeypatch.setattr(queries, "sla_clock", read_then_someone_else_answers)
    manager = login(acme.email("manager"))
    assert manager.post(f"/sla/escalations/{clock_id}", {"text": "second"}, token_from="/").status_code == 303
    with database.session() as s:
        assert s.get(SlaClock, clock_id).acknowledgement == "first"


def test_deadline_notes_are_in_the_history_but_no_step_to_rewind_to(login, acme, database, engine, complaint_data):
    set_policy(database, acme, resolution_target="PT0S", escalate_to="Management")
    case = register(database, engine, acme, complaint_data)
    sla.check_clocks(database.sessionmaker, engine, utcnow() + timedelta(seconds=1))
    admin = login(acme.email("admin"))
    in_english(admin)
    assert "Deadline missed: Resolution" in text(admin.get(f"/complaints/{case}"))
    corrections = text(admin.get(f"/complaints/{case}/corrections"))
    assert "There is no earlier step to rewind to." in corrections
    assert "Deadline missed" not in corrections


def test_working_time_reads_as_time_left_or_overdue(app):
    with app.test_request_context(), force_locale("en"):
        assert working_time(timedelta(hours=13, minutes=5)) == "13 h 05 min left"
        assert working_time(timedelta(minutes=-7)) == "7 min overdue"
        assert working_time(timedelta(0), overdue=True) == "overdue, outside working hours"
        assert working_time(timedelta(0)) == "0 min left"
        assert working_time(timedelta(seconds=-20), overdue=True) == "0 min overdue"


def test_targets_read_in_the_readers_language_whichever_way_they_were_written(app):
    with app.test_request_context(), force_locale("zh_Hans"):
        assert target_text("5 working days") == "5 个工作日"
        assert target_text("1.5 working hours") == "1.5 个工作小时"
        assert target_text("next working day 15:00") == "下一个工作日 15:00"
        assert target_text("PT24H") == "24 小时"
        assert target_text("P1DT1H30M") == "1 天 1 小时 30 分钟"
    with app.test_request_context(), force_locale("en"):
        assert target_text("5个工作日") == "5 working days"
        assert target_text("1 working day") == "1 working day"
        assert target_text("next day 15:00") == "next day 15:00"
        assert target_text("P1D") == "1 day"
        assert target_text("five days") == "five days"  # not a target: shown as written
        assert target_text("PT1.5H") == "PT1.5H"
