"""Notifications by e-mail, delivered to a real SMTP server (aiosmtpd) on a free port: one mail each, in the reader's
language and the company's time zone, as each user chose; a daily digest once per day from 08:00 Shanghai time;
and nothing lost when the mail server is away or refuses."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from accounts.models import User
from db import utcnow
from engine.records import InboxTask
from notifications import notify
from notifications.mail import LEASE, RETRIES, Post, _claim, send_digests, send_pending
from notifications.models import Notification, NotificationPreferences
from test_notify import open_task, start_relay

SHANGHAI = ZoneInfo("Asia/Shanghai")
TASK = {"": "Review the reply", "zh_Hans": "审核答复", "zh_Hant": "審核答覆"}
DUE = datetime(2031, 3, 4, 9, 30, tzinfo=UTC)  # 17:30 in Shanghai


@pytest.fixture()
def post(app) -> Post:
    """What the mail jobs need of the app: its configuration, database and engine."""
    return Post(app.config, app.extensions["kesu.db"], app.extensions["kesu.engine"])


def set_locale(database, user_id: int, locale: str | None) -> None:
    with database.session() as s:
        s.get(User, user_id).locale = locale


def prefer(database, user_id: int, muted=(), digest: bool = False) -> None:
    with database.session() as s:
        s.merge(NotificationPreferences(user_id=user_id, muted=list(muted), digest=digest))


def tell(database, company, keys, kind: str = "task_assigned", now: datetime | None = None, **params) -> list[int]:
    with database.session() as s:
        added = notify(s, company.id, [company.users[key].id for key in keys], kind, instance_id=None,
                       params={"number": "202611-0007", "task": TASK, "due_at": DUE.isoformat(), **params}, now=now)
        return [n.id for n in added]


def stored(database, notification_id: int) -> Notification:
    with database.session() as s:
        return s.get(Notification, notification_id)


def text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


# -- one mail each --------------------------------------------------------------------------------------------


def test_a_notification_is_mailed_once_in_the_readers_language(app, post, database, acme, mailbox):
    set_locale(database, acme.users["handler"].id, "zh_Hant")
    set_locale(database, acme.users["quality"].id, "en")
    handler_id, quality_id = tell(database, acme, ["handler", "quality"])
    assert send_pending(post, utcnow()) == 2
    [chinese], [english] = mailbox.to("handler@acme.test"), mailbox.to("quality@acme.test")
    assert chinese["Content-Language"] == "zh-Hant" and english["Content-Language"] == "en"
    assert "審核答覆" in chinese["Subject"] and "202611-0007" in chinese["Subject"]
    assert "Review the reply" in english["Subject"] and "審核答覆" not in text(english)
    for message, notification_id in ((chinese, handler_id), (english, quality_id)):
        assert "2031-03-04 17:30" in text(message)  # the due time as the company's (Shanghai) clocks show it
        assert f"https://kesu.example.cn/app/notifications/{notification_id}" in text(message)
        assert f'href="https://kesu.example.cn/app/notifications/{notification_id}"' in html(message)
        assert "https://kesu.example.cn/app/account/notifications" in text(message)
        assert stored(database, notification_id).emailed_at is not None
    assert send_pending(post, utcnow() + timedelta(hours=1)) == 0
    assert len(mailbox.messages) == 2


def test_a_user_without_a_language_reads_the_company_default_simplified_chinese(post, database, acme, mailbox):
    set_locale(database, acme.users["handler"].id, None)
    tell(database, acme, ["handler"])
    send_pending(post, utcnow())
    [message] = mailbox.messages
    assert message["Content-Language"] == "zh-Hans" and "审核答复" in message["Subject"]
    assert "<html lang=\"zh-Hans\">" in html(message)


def test_without_a_mail_server_notifications_stay_in_the_app(app, post, database, acme, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", None)
    [notification_id] = tell(database, acme, ["handler"])
    prefer(database, acme.users["quality"].id, digest=True)
    assert send_pending(post, utcnow()) == 0
    assert send_digests(post, utcnow() + timedelta(days=1)) == 0
    notification = stored(database, notification_id)
    assert notification.emailed_at is None and notification.mail_error is None and notification.read_at is None


def test_each_user_gets_only_the_kinds_they_chose_and_digest_users_none_at_once(post, database, acme, mailbox):
    set_locale(database, acme.users["service"].id, "en")
    prefer(database, acme.users["service"].id, muted=["task_offered"])
    prefer(database, acme.users["service2"].id, digest=True)
    tell(database, acme, ["service", "service2", "quality"], "task_offered")
    tell(database, acme, ["service"], "sla_breached", clock="Resolution")
    assert send_pending(post, utcnow()) == 2
    assert [m["Subject"] for m in mailbox.to("service@acme.test")] == ["Deadline missed: Resolution · 202611-0007"]
    assert len(mailbox.to("quality@acme.test")) == 1 and mailbox.to("service2@acme.test") == []


def test_a_choice_changed_before_the_mail_went_out_is_obeyed(post, database, acme, mailbox):
    [muted_later] = tell(database, acme, ["service"])
    [digest_later] = tell(database, acme, ["service2"])
    prefer(database, acme.users["service"].id, muted=["task_assigned"])
    prefer(database, acme.users["service2"].id, digest=True)
    assert send_pending(post, utcnow()) == 0 and mailbox.messages == []
    for notification_id in (muted_later, digest_later):
        notification = stored(database, notification_id)
        assert notification.mail_due_at is None and notification.emailed_at is None


# -- failures -------------------------------------------------------------------------------------------------


def test_a_mail_server_outage_loses_nothing(post, database, acme, server):
    [notification_id] = tell(database, acme, ["handler"])
    now = utcnow()
    assert send_pending(post, now) == 0  # nobody listens on the port
    failed = stored(database, notification_id)
    assert failed.emailed_at is None and failed.mail_attempts == 1 and "Connection" in failed.mail_error
    assert failed.mail_due_at == now + RETRIES[0]
    mailbox = server.start()
    assert send_pending(post, now + RETRIES[0] / 2) == 0  # not yet: it waits its turn
    assert send_pending(post, now + RETRIES[0]) == 1
    assert len(mailbox.to("handler@acme.test")) == 1
    sent = stored(database, notification_id)
    assert sent.emailed_at == now + RETRIES[0] and sent.mail_error is None and sent.mail_due_at is None


def test_a_refused_recipient_does_not_hold_up_the_others_and_is_given_up_after_the_last_retry(app, post, database, acme,
                                                                                               mailbox):
    mailbox.refused.add("handler@acme.test")
    refused_id, _quality = tell(database, acme, ["handler", "quality"])
    now = utcnow()
    assert send_pending(post, now) == 1
    assert len(mailbox.to("quality@acme.test")) == 1
    for retry in RETRIES:
        assert "550" in stored(database, refused_id).mail_error
        now += retry
        assert send_pending(post, now) == 0
    given_up = stored(database, refused_id)
    assert given_up.mail_attempts == len(RETRIES) + 1 and given_up.mail_due_at is None
    assert given_up.read_at is None  # still waiting in the app
    assert send_pending(post, now + timedelta(days=1)) == 0


def test_a_mail_claimed_by_a_worker_that_died_goes_out_after_the_lease(app, post, database, acme, mailbox):
    [notification_id] = tell(database, acme, ["handler"])
    now = utcnow()
    assert _claim(app.extensions["kesu.db"], now) == [notification_id]  # ... and the worker dies here
    assert send_pending(post, now + LEASE / 2) == 0
    assert send_pending(post, now + LEASE) == 1 and len(mailbox.messages) == 1


def test_mail_that_could_not_go_out_for_a_day_is_not_sent_late(post, database, acme, mailbox):
    yesterday = utcnow() - timedelta(days=1, minutes=1)
    [old] = tell(database, acme, ["handler"], now=yesterday)
    [fresh] = tell(database, acme, ["quality"])
    assert send_pending(post, utcnow()) == 1
    assert mailbox.to("handler@acme.test") == [] and stored(database, old).mail_due_at is None
    assert stored(database, fresh).emailed_at is not None


# -- the daily digest -----------------------------------------------------------------------------------------


def next_eight_oclock(after: datetime) -> datetime:
    """The first 08:00 Shanghai time after `after`, in UTC."""
    local = after.astimezone(SHANGHAI)
    day = local.date() if local.time() < time(8) else local.date() + timedelta(days=1)
    return datetime.combine(day, time(8), SHANGHAI).astimezone(UTC)


def test_the_digest_goes_once_a_day_from_eight_oclock_shanghai_time(post, database, engine, acme, mailbox):
    handler = acme.users["handler"].id
    set_locale(database, handler, "en")
    prefer(database, handler, digest=True)
    case = start_relay(database, engine, acme, acme.actor("service"))
    with database.session() as s:
        engine.complete(s, open_task(database, case, "prepare"), acme.actor("service2"), {})  # review: handler's
        due = s.scalar(sa.select(InboxTask.due_at).where(InboxTask.element_id == "review"))
    tell(database, acme, ["handler"], "reopened")
    eight = next_eight_oclock(due)
    send_pending(post, eight)
    assert mailbox.to("handler@acme.test") == []  # digest users get nothing one by one
    assert send_digests(post, eight - timedelta(minutes=1)) == 0
    assert send_digests(post, eight) == 1
    [first] = mailbox.to("handler@acme.test")
    assert first["Subject"] == f"Kesu daily summary, {eight.astimezone(SHANGHAI).date().isoformat()}"
    body = text(first)
    assert "What happened" in body and "Complaint 202611-0007 was sent back" in body
    assert "The task “Review the reply” of complaint R-1 is assigned to you." in body
    assert "Overdue tasks" in body and f"/tasks/{open_task(database, case, 'review')}" in body
    assert send_digests(post, eight + timedelta(hours=3)) == 0
    assert send_digests(post, eight + timedelta(days=1)) == 1  # the next morning: the task is still overdue
    second = text(mailbox.to("handler@acme.test")[1])
    assert "What happened" not in second and "Review the reply" in second
    assert len(mailbox.to("handler@acme.test")) == 2


def test_the_digest_is_in_the_readers_language_and_leaves_out_muted_kinds(post, database, acme, mailbox):
    quality = acme.users["quality"].id
    set_locale(database, quality, "zh_Hans")
    prefer(database, quality, muted=["reopened"], digest=True)
    tell(database, acme, ["quality"], "task_offered")
    tell(database, acme, ["quality"], "reopened")
    assert send_digests(post, next_eight_oclock(utcnow())) == 1
    [digest] = mailbox.messages
    assert digest["Content-Language"] == "zh-Hans" and "审核答复" in text(digest)
    assert "202611-0007 was sent back" not in text(digest)


def test_a_digest_with_nothing_to_tell_is_not_sent(post, database, acme, mailbox):
    prefer(database, acme.users["quality"].id, digest=True)
    assert send_digests(post, next_eight_oclock(utcnow())) == 0 and mailbox.messages == []


def test_a_failed_digest_is_sent_on_a_later_pass_the_same_day(post, database, acme, server):
    prefer(database, acme.users["quality"].id, digest=True)
    [notification_id] = tell(database, acme, ["quality"], "task_offered")
    eight = next_eight_oclock(utcnow())
    assert send_digests(post, eight) == 0  # nobody listens yet
    assert stored(database, notification_id).emailed_at is None
    mailbox = server.start()
    assert send_digests(post, eight + timedelta(minutes=5)) == 1 and len(mailbox.messages) == 1
    assert stored(database, notification_id).emailed_at == eight + timedelta(minutes=5)


@pytest.mark.parametrize("local_time,first_digest_on", [("15:00", "2031-03-05"), ("07:59", "2031-03-04")])
def test_a_digest_turned_on_starts_at_the_next_eight_oclock(local_time, first_digest_on):
    prefs = NotificationPreferences(user_id=1, muted=[], digest=False)
    prefs.choose(set(), True, datetime.fromisoformat(f"2031-03-04T{local_time}:00+08:00"))
    day_done = prefs.digest_sent_on
    assert (day_done + timedelta(days=1)).isoformat() == first_digest_on
