"""The pages: my notifications (newest first, unread marked, opening one marks it read and leads to its task or
complaint, all marked read at once), the unread count in the header, and my e-mail settings."""
from __future__ import annotations

import html
import re

import sqlalchemy as sa

from notifications import notify
from notifications.models import Notification, NotificationPreferences


def english(login, email: str):
    browser = login(email)
    browser.post("/language/en", {"next": "/"}, token_from="/")
    return browser


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def tell(database, company, key: str, number: str, kind: str = "reopened") -> int:
    with database.session() as s:
        [added] = notify(s, company.id, [company.users[key].id], kind, params={"number": number})
        return added.id


def unread_badge(browser) -> str | None:
    found = re.search(r'data-unread="(\d+)"', browser.get("/").get_data(as_text=True))
    return found.group(1) if found else None


def checked(form: str, name: str) -> list[str]:
    """The values of the checked boxes called `name`."""
    boxes = re.findall(r"<input ([^>]*)>", form)
    return [re.search(r'value="([^"]*)"', box).group(1) for box in boxes
            if f'name="{name}"' in box and re.search(r"\bchecked\b", box)]


def read_at(database, notification_id: int):
    with database.session() as s:
        return s.scalar(sa.select(Notification.read_at).where(Notification.id == notification_id))


def register(api, acme, complaint_data) -> dict:
    response = api(acme.email("service")).post("/processes/complaint_standard/instances", {"data": complaint_data})
    assert response.status_code == 201
    return response.get_json()


def test_the_header_counts_only_my_unread_notifications(database, acme, rival, login):
    tell(database, acme, "service", "202611-0001")
    tell(database, acme, "service", "202611-0002")
    tell(database, acme, "service2", "202611-0003")
    tell(database, rival, "service", "202611-0004")
    assert unread_badge(login(acme.email("service"))) == "2"
    assert unread_badge(login(acme.email("quality"))) is None


def test_my_notifications_are_listed_newest_first_with_the_unread_marked(database, acme, login):
    first = tell(database, acme, "service", "202611-0001")
    second = tell(database, acme, "service", "202611-0002")
    tell(database, acme, "service2", "202611-0003")
    with database.session() as s:
        s.get(Notification, first).read_at = s.get(Notification, first).created_at
    listing = page(english(login, acme.email("service")).get("/notifications"))
    rows = re.findall(r'data-notification="(\d+)" class="(\w+)"', listing)
    assert rows == [(str(second), "unread"), (str(first), "read")]
    assert "Complaint 202611-0002 reopened" in listing and "202611-0003" not in listing


def test_opening_a_notification_marks_it_read_and_leads_to_its_open_task(database, acme, login, api, complaint_data):
    case = register(api, acme, complaint_data)
    with database.session() as s:
        offered = s.scalar(sa.select(Notification).where(Notification.user_id == acme.users["service2"].id))
    browser = login(acme.email("service2"))
    assert unread_badge(browser) == "1"
    response = browser.get(f"/notifications/{offered.id}")
    assert response.status_code == 302 and response.headers["Location"] == f"/tasks/{case['tasks'][0]['id']}"
    assert read_at(database, offered.id) is not None and unread_badge(browser) is None


def test_a_notification_whose_task_is_done_leads_to_its_complaint(database, acme, login, api, complaint_data):
    case = register(api, acme, complaint_data)
    service = api(acme.email("service"))
    assert service.post(f"/tasks/{case['tasks'][0]['id']}/complete", {"data": {"valid": True}}).status_code == 200
    with database.session() as s:
        offered = s.scalar(sa.select(Notification.id).where(Notification.user_id == acme.users["service2"].id))
    response = login(acme.email("service2")).get(f"/notifications/{offered}")
    assert response.headers["Location"] == f"/complaints/{case['id']}"


def test_another_users_notification_is_not_found_and_stays_unread(database, acme, login):
    theirs = tell(database, acme, "service2", "202611-0001")
    assert login(acme.email("service")).get(f"/notifications/{theirs}").status_code == 404
    assert read_at(database, theirs) is None


def test_mark_all_read_marks_only_mine(database, acme, login):
    mine = [tell(database, acme, "service", f"202611-000{n}") for n in (1, 2)]
    theirs = tell(database, acme, "service2", "202611-0003")
    browser = login(acme.email("service"))
    response = browser.post("/notifications/read", token_from="/notifications")
    assert response.status_code == 303
    assert all(read_at(database, n) is not None for n in mine) and read_at(database, theirs) is None
    assert unread_badge(browser) is None


def test_e_mail_settings_are_saved_and_shown_again(database, acme, login):
    browser = english(login, acme.email("service"))
    form = page(browser.get("/account/notifications"))
    assert checked(form, "mailed") == ["task_assigned", "task_offered", "sla_warning", "sla_breached", "reopened",
                                       "closed"]
    assert checked(form, "digest") == []
    assert "A deadline has passed" in form
    response = browser.post("/account/notifications", {"mailed": ["task_assigned", "sla_breached"], "digest": "y"},
                            token_from="/account/notifications")
    assert response.status_code == 303
    with database.session() as s:
        prefs = s.get(NotificationPreferences, acme.users["service"].id)
        assert (prefs.muted, prefs.digest) == (["closed", "reopened", "sla_warning", "task_offered"], True)
        assert prefs.digest_sent_on is not None  # the first digest comes at the next 08:00, not at once
    shown = page(browser.get("/account/notifications"))
    assert checked(shown, "mailed") == ["task_assigned", "sla_breached"] and checked(shown, "digest") == ["y"]


def test_e_mail_settings_refuse_an_unknown_kind(database, acme, login):
    browser = login(acme.email("service"))
    response = browser.post("/account/notifications", {"mailed": ["no_such_kind"]}, token_from="/account/notifications")
    assert response.status_code == 400
    with database.session() as s:
        assert s.get(NotificationPreferences, acme.users["service"].id) is None
