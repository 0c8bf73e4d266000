"""Mailing notifications, each in its reader's language: one by one from the outbox, or in a daily digest.

The outbox: due rows are claimed for a LEASE in a short transaction (no database lock is held while the mail
server talks), sent over one connection, and each is marked emailed as soon as the server has taken it. A failure
is written on the row, which is tried again later (RETRIES), then given up: it stays in the app. A worker that dies
before marking a mail sends it again once the lease is over: a mail may arrive twice, but is never lost.

The digest: once per company-local day, at DIGEST_AT or later, each user who asked for it gets one mail with what
they were told since the last one and the tasks they hold or may claim that are overdue.

The background worker calls `send_pending` and `send_digests` every few seconds: with nothing due each costs one
indexed query, and without a mail server configured nothing at all. Neither needs the web app (a `Post` holds what
they use), so the Celery worker mails without building it.
"""
from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime as mail_date, formataddr, make_msgid
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.routing import MapAdapter

from accounts.directory import actor_for
from accounts.models import Company, User
from db import Database
from engine import N_
from engine.queries import tasks_for
from engine.runtime.steps import Engine
from notifications.kinds import render, when
from notifications.letters import Entry, Language, Letter, links as links_to
from notifications.models import DIGEST_AT, Notification, NotificationPreferences, mailed_alone, same

log = logging.getLogger(__name__)
BATCH = 50  # mails per pass: the worker comes back within seconds for the rest
LEASE = timedelta(minutes=10)  # a claimed mail not marked by then (its worker died) is sent again
RETRIES = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))  # after each failure; then give up
REACH = timedelta(days=1)  # older unsent mails (no server for a day, or none configured then) are not sent late
DIGEST_REACH = timedelta(days=7)  # a digest tells at most a week, however long the last one is ago
TIMEOUT = 20  # seconds to wait for the mail server


@dataclass(frozen=True)
class Settings:
    server: str
    port: int
    use_tls: bool
    use_ssl: bool
    username: str | None
    password: str | None
    sender: str
    base_url: str

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> Settings | None:
        """The app's mail settings, or None when no mail server is configured."""
        if not config.get("MAIL_SERVER"):
            return None
        return cls(config["MAIL_SERVER"], int(config["MAIL_PORT"]), bool(config.get("MAIL_USE_TLS")),
                   bool(config.get("MAIL_USE_SSL")), config.get("MAIL_USERNAME"), config.get("MAIL_PASSWORD"),
                   config["MAIL_FROM"], config["BASE_URL"])


@dataclass(frozen=True)
class Post:
    """What mailing needs: the configuration (read at each pass, for the mail server and the languages), the
    database, and the engine (a digest lists the reader's overdue tasks)."""

    config: Mapping[str, Any]
    database: Database
    engine: Engine


class Postman:
    """One connection to the mail server, opened for the first mail of a pass and closed at its end."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> None:
        if self.smtp is None:
            self.smtp = self._connect()
        self.smtp.send_message(message)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp = (smtplib.SMTP_SSL if s.use_ssl else smtplib.SMTP)(s.server, s.port, timeout=TIMEOUT)
        if s.use_tls:
            smtp.starttls()
        if s.username:
            smtp.login(s.username, s.password or "")
        return smtp

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except OSError:
                self.smtp.close()
            self.smtp = None

    def __enter__(self) -> Postman:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def refused(error: Exception) -> bool:
    """Whether the server refused one mail only (its connection still takes the next)."""
    return isinstance(error, (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError))


# -- what a mail says -------------------------------------------------------------------------------------------


def _message(settings: Settings, user: User, locale: str, letter: Letter, now: datetime) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = letter.subject
    message["From"] = settings.sender
    message["To"] = formataddr((user.name, user.email))
    message["Date"] = mail_date(now)
    message["Message-ID"] = make_msgid("kesu")
    message["Auto-Submitted"] = "auto-generated"  # no out-of-office replies, please
    language = locale.replace("_", "-")
    message.set_content(letter.plain())
    message.add_alternative(letter.html(language), subtype="html")
    message["Content-Language"] = language  # after the content: setting it drops Content-* headers
    return message


def _letter(links: MapAdapter, _: Language, user: User, subject: str,
            sections: Sequence[tuple[str, Sequence[Entry]]]) -> Letter:
    """In the reader's language: greeting, the sections, and where the reader changes what is mailed."""
    return Letter(subject, _(N_("Hello %(name)s,"), name=user.name),
                  tuple((heading, tuple(entries)) for heading, entries in sections),
                  _(N_("You get this mail because of your notification settings in Kesu. Change them here:")),
                  links.build("notifications.preferences", force_external=True))


def _language(config: Mapping[str, Any], user: User) -> Language:
    return Language(user.locale if user.locale in config["LANGUAGES"] else config["BABEL_DEFAULT_LOCALE"])


def _entry(links: MapAdapter, notification: Notification, language: Language, zone: str, dated: bool = False) -> Entry:
    locale = language.locale
    text = render(notification.kind, notification.params, locale, zone, language)
    details = ((when(notification.created_at, locale, zone),) if dated else ()) + text.details
    return Entry(text.body, links.build("notifications.follow", {"notification_id": notification.id},
                                        force_external=True), details)


# -- the outbox -------------------------------------------------------------------------------------------------


def send_pending(post: Post, now: datetime) -> int:
    """Mail the notifications due at `now` (at most BATCH); returns how many went out."""
    settings = Settings.of(post.config)
    if settings is None:
        return 0
    database = post.database
    with database.sessionmaker() as session:
        if session.scalar(sa.select(Notification.id).where(Notification.mail_due_at <= now).limit(1)) is None:
            return 0
    claimed = _claim(database, now)
    with database.sessionmaker() as session:
        rows = session.execute(sa.select(Notification, User, NotificationPreferences)
                               .join(User, User.id == Notification.user_id)
                               .outerjoin(NotificationPreferences, NotificationPreferences.user_id == User.id)
                               .where(Notification.id.in_(claimed)).order_by(Notification.id)).all()
    sent = 0
    with Postman(settings) as postman:
        links = links_to(settings.base_url)
        for index, (notification, user, prefs) in enumerate(rows):
            if not user.active or not mailed_alone(prefs, notification.kind):
                _settle(database, [notification.id], mail_due_at=None)  # chosen otherwise since: a digest, or none
                continue
            try:
                postman.send(_single(post.config, settings, links, notification, user, now))
            except OSError as error:
                log.warning("mailing notification %s failed: %s", notification.id, error)
                if refused(error):
                    _failed(database, [notification], error, now)
                    continue
                _failed(database, [n for n, _user, _prefs in rows[index:]], error, now)  # the server is away
                break
            _settle(database, [notification.id], emailed_at=now, mail_due_at=None, mail_error=None)
            sent += 1
    return sent


def _claim(database: Database, now: datetime) -> list[int]:
    """Take the due mails for LEASE, giving up those too old to be worth sending now."""
    table = Notification.__table__
    with database.session() as session:
        session.execute(table.update().where(table.c.mail_due_at <= now, table.c.created_at < now - REACH)
                        .values(mail_due_at=None, mail_error="not mailed: older than a day when it could be sent"))
        due = (sa.select(table.c.id).where(table.c.mail_due_at <= now).order_by(table.c.mail_due_at).limit(BATCH)
               .scalar_subquery())
        # mail_due_at <= now again: on PostgreSQL a row another worker claimed meanwhile no longer matches
        return list(session.scalars(table.update().where(table.c.id.in_(due), table.c.mail_due_at <= now)
                                    .values(mail_due_at=now + LEASE, mail_attempts=table.c.mail_attempts + 1)
                                    .returning(table.c.id)))


def _single(config: Mapping[str, Any], settings: Settings, links: MapAdapter, notification: Notification, user: User,
            now: datetime) -> EmailMessage:
    language, zone = _language(config, user), user.company.timezone
    subject = render(notification.kind, notification.params, language.locale, zone, language).subject
    letter = _letter(links, language, user, subject, [("", [_entry(links, notification, language, zone)])])
    return _message(settings, user, language.locale, letter, now)


def _settle(database: Database, ids: Iterable[int], **values: Any) -> None:
    with database.session() as session:
        session.execute(sa.update(Notification).where(Notification.id.in_(list(ids))).values(**values))


def _failed(database: Database, notifications: Iterable[Notification], error: Exception, now: datetime) -> None:
    """Write down why, and when to try again (never, after the last retry)."""
    with database.session() as session:
        for notification in notifications:
            attempt = notification.mail_attempts  # counted when claimed
            retry = now + RETRIES[attempt - 1] if attempt <= len(RETRIES) else None
            session.execute(sa.update(Notification).where(Notification.id == notification.id)
                            .values(mail_due_at=retry, mail_error=f"{type(error).__name__}: {error}"[:1000]))


# -- the daily digest -------------------------------------------------------------------------------------------


def send_digests(post: Post, now: datetime) -> int:
    """Mail today's digest to each user whose company's clocks show DIGEST_AT or later; returns how many went out."""
    settings = Settings.of(post.config)
    if settings is None:
        return 0
    database = post.database
    with database.sessionmaker() as session:
        due = _digests_due(session, now)
    if not due:
        return 0
    sent = 0
    with Postman(settings) as postman:
        links = links_to(settings.base_url)
        for user_id, day, previous in due:
            if not _claim_digest(database, user_id, day, previous):
                continue  # another worker has it
            try:
                sent += _send_digest(post, settings, links, postman, user_id, day, now)
            except OSError as error:
                log.warning("the digest of user %s failed: %s", user_id, error)
                _unclaim_digest(database, user_id, day, previous)
                if not refused(error):
                    break
    return sent


def _digests_due(session: Session, now: datetime) -> list[tuple[int, date, date | None]]:
    """(user id, local day, day of the previous digest) of every digest due: per time zone the companies use."""
    due = []
    for zone in session.scalars(sa.select(Company.timezone).distinct()):
        local = now.astimezone(ZoneInfo(zone))
        if local.time() < DIGEST_AT:
            continue
        rows = session.execute(
            sa.select(NotificationPreferences.user_id, NotificationPreferences.digest_sent_on)
            .join(User, User.id == NotificationPreferences.user_id).join(Company, Company.id == User.company_id)
            .where(Company.timezone == zone, NotificationPreferences.digest.is_(True), User.active.is_(True),
                   sa.or_(NotificationPreferences.digest_sent_on.is_(None),
                          NotificationPreferences.digest_sent_on < local.date())))
        due += [(row.user_id, local.date(), row.digest_sent_on) for row in rows]
    return due


def _claim_digest(database: Database, user_id: int, day: date, previous: date | None) -> bool:
    table = NotificationPreferences.__table__
    with database.session() as session:
        return session.execute(table.update().where(table.c.user_id == user_id, same(table.c.digest_sent_on, previous))
                               .values(digest_sent_on=day)).rowcount == 1


def _unclaim_digest(database: Database, user_id: int, day: date, previous: date | None) -> None:
    """Undo the claim after a failed send: the next pass tries again."""
    table = NotificationPreferences.__table__
    with database.session() as session:
        session.execute(table.update().where(table.c.user_id == user_id, table.c.digest_sent_on == day)
                        .values(digest_sent_on=previous))


def _send_digest(post: Post, settings: Settings, links: MapAdapter, postman: Postman, user_id: int, day: date,
                 now: datetime) -> int:
    """Mail one user's digest, if there is anything to tell; 1 if a mail went out."""
    with post.database.sessionmaker() as session:
        user = session.get(User, user_id)
        prefs = session.get(NotificationPreferences, user_id)
        told = [n for n in session.scalars(
            sa.select(Notification).where(Notification.user_id == user_id, Notification.emailed_at.is_(None),
                                          Notification.created_at > now - DIGEST_REACH, Notification.created_at <= now)
            .order_by(Notification.created_at)) if prefs.mails(n.kind)]
        overdue = [task for task in tasks_for(session, post.engine, actor_for(user))
                   if task.due_at is not None and task.due_at < now and task.assignee_id in (None, user.id)]
        if not told and not overdue:
            return 0
        _ = _language(post.config, user)  # the reader's gettext
        locale, zone = _.locale, user.company.timezone
        sections = []
        if told:
            sections.append((_(N_("What happened")), [_entry(links, n, _, zone, dated=True) for n in told]))
        if overdue:
            sections.append((_(N_("Overdue tasks you hold or may claim")), [
                Entry(_(N_("“%(task)s” of complaint %(number)s"), task=task.name_in(locale), number=task.business_key),
                      links.build("inbox.task", {"task_id": task.id}, force_external=True),
                      (_(N_("Due: %(due)s"), due=when(task.due_at, locale, zone)),)) for task in overdue]))
        letter = _letter(links, _, user, _(N_("Kesu daily summary, %(day)s"), day=day.isoformat()), sections)
        postman.send(_message(settings, user, locale, letter, now))
    _settle(post.database, [n.id for n in told], emailed_at=now, mail_due_at=None)
    return 1
