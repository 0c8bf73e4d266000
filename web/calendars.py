"""Administration of business calendars: time zone, working periods and weekdays, public holidays and adjusted
working days, mainland China's official days filled in by year, and which calendar is the company's default (the
one task due dates written in business time are counted on).

Periods and days are typed as text; a line that cannot be read is named in the error and everything typed stays.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, available_timezones

import sqlalchemy as sa
from babel.dates import get_day_names
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from auth.calendars import (
    CompanyCalendar,
    add_china_year,
    china_years,
    days_off_ahead,
    make_default,
    new_calendar,
    workdays_ahead,
)
from auth.directory import names_by_id
from db import utcnow
from web.context import db, requires
from web.tasks import ActionForm

bp = Blueprint("calendars", __name__, url_prefix="/admin/calendars")
ZONES = ["Asia/Shanghai", *sorted(available_timezones() - {"Asia/Shanghai"})]
_PERIOD = re.compile(r"^(\d{1,2}):(\d{2})\s*[-–~]\s*(\d{1,2}):(\d{2})$")


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def _clock(hour: str, minute: str) -> time | None:
    return time(int(hour), int(minute)) if int(hour) < 24 and int(minute) < 60 else None


class PeriodsField(StringField):
    """Working periods typed as '08:30-12:00, 13:00-17:30'; data is the ordered (start, end) pairs."""

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return ", ".join(f"{_hhmm(start)}-{_hhmm(end)}" for start, end in self.data or ())

    def process_formdata(self, valuelist: list[str]) -> None:
        if valuelist:
            self.data = _periods(valuelist[0])


def _periods(text: str) -> tuple[tuple[time, time], ...]:
    pieces = [piece.strip() for piece in re.split(r"[,，;；]", text) if piece.strip()]
    if not pieces:
        raise ValueError(_("Give at least one working period, such as 08:30-12:00."))
    periods = []
    for piece in pieces:
        found = _PERIOD.match(piece)
        start, end = (_clock(*found.group(1, 2)), _clock(*found.group(3, 4))) if found else (None, None)
        if start is None or end is None:
            raise ValueError(_("“%(period)s” is not a working period: write it as 08:30-12:00.", period=piece))
        if end <= start:
            raise ValueError(_("The period “%(period)s” ends before it starts.", period=piece))
        periods.append((start, end))
    periods.sort()
    for (start, end), (later_start, later_end) in zip(periods, periods[1:]):
        if end > later_start:
            raise ValueError(_("The periods %(first)s and %(second)s overlap.",
                               first=f"{_hhmm(start)}-{_hhmm(end)}", second=f"{_hhmm(later_start)}-{_hhmm(later_end)}"))
    return tuple(periods)


class DaysField(TextAreaField):
    """One date a line, optionally followed by '# note'; data maps each date to its note. Shown newest first: the
    coming year is what an admin edits, the years since 2004 are history."""

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "\n".join(f"{day.isoformat()} # {note}" if note else day.isoformat()
                         for day, note in sorted((self.data or {}).items(), reverse=True))

    def process_formdata(self, valuelist: list[str]) -> None:
        if valuelist:
            self.data = _days(valuelist[0])


def _days(text: str) -> dict[date, str]:
    days: dict[date, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        written, _hash, note = line.partition("#")
        if not written.strip():
            continue
        try:
            day = datetime.strptime(written.strip(), "%Y-%m-%d").date()
        except ValueError:
            raise ValueError(_("Line %(number)s, “%(line)s”: not a date; write it as 2026-10-01, optionally followed "
                               "by # and a note.", number=number, line=line.strip())) from None
        days[day] = note.strip()
    return days


class CalendarForm(FlaskForm):
    name = StringField(_l("Name"), [DataRequired(), Length(max=100)])
    timezone = SelectField(_l("Time zone"), choices=ZONES)
    periods = PeriodsField(_l("Working periods"), description=_l("Comma-separated, e.g. 08:30-12:00, 13:00-17:30"))
    weekdays = SelectMultipleField(_l("Working weekdays"), [DataRequired(_l("Choose at least one working weekday."))],
                                   coerce=int, widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    holidays = DaysField(_l("Public holidays"), description=_l("One date a line, e.g. 2026-10-01 # National Day"))
    workdays = DaysField(_l("Adjusted working days"),
                         description=_l("Weekend days worked instead of a holiday, one a line, e.g. 2026-10-10"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.weekdays.choices = sorted(get_day_names("wide", locale=get_locale()).items())  # Monday first

    def validate_workdays(self, field: DaysField) -> None:
        both = sorted(set(field.data or {}) & set(self.holidays.data or {}))
        if both:
            raise ValidationError(_("%(day)s is listed both as a public holiday and as an adjusted working day.",
                               day=both[0].isoformat()))


class ChinaYearForm(FlaskForm):
    year = IntegerField(_l("Year"), [InputRequired()])

    def validate_year(self, field: IntegerField) -> None:
        known = china_years()
        if field.data not in known:
            raise ValidationError(_("Mainland China's official days are known for %(first)s to %(last)s only, not for "
                               "%(year)s.", first=known.start, last=known.stop - 1, year=field.data))


def _calendar(calendar_id: int) -> CompanyCalendar:
    found = db().scalar(sa.select(CompanyCalendar).where(CompanyCalendar.id == calendar_id,
                                                         CompanyCalendar.company_id == current_user.company_id))
    if found is None:
        abort(404)
    return found


def _initial(calendar: CompanyCalendar) -> dict:
    business = calendar.to_business()
    return {"name": calendar.name, "timezone": calendar.timezone, "periods": business.periods,
            "weekdays": sorted(business.weekdays), "holidays": calendar.days("holidays"),
            "workdays": calendar.days("workdays")}


def _name_taken(form: CalendarForm, calendar_id: int | None) -> bool:
    """Whether another calendar of the company has the name typed (then the form says so)."""
    taken = db().scalar(sa.select(CompanyCalendar.id).where(CompanyCalendar.company_id == current_user.company_id,
                                                            CompanyCalendar.name == form.name.data.strip(),
                                                            CompanyCalendar.id != calendar_id))
    if taken is not None:
        form.name.errors.append(_("The company already has a calendar called “%(name)s”.", name=form.name.data))
    return taken is not None


def _save(calendar: CompanyCalendar, form: CalendarForm) -> None:
    calendar.name, calendar.timezone, calendar.weekdays = form.name.data.strip(), form.timezone.data, form.weekdays.data
    calendar.set_periods(form.periods.data)
    calendar.set_days(form.holidays.data or {}, form.workdays.data or {})
    _touch(calendar)


def _touch(calendar: CompanyCalendar) -> None:
    """Mark the calendar changed, so the engine's cached copy of it is rebuilt."""
    calendar.updated_at, calendar.updated_by_id = utcnow(), current_user.id
    db().add(calendar)
    db().commit()


def _today(calendar: CompanyCalendar) -> date:
    """Today where the calendar is kept."""
    return datetime.now(ZoneInfo(calendar.timezone)).date()


def _edit_page(calendar: CompanyCalendar, form: CalendarForm, year_form: ChinaYearForm, status: int = 200):
    business, today = calendar.to_business(), _today(calendar)
    notes = {**calendar.days("holidays"), **calendar.days("workdays")}
    return render_template("admin/calendars_edit.html", calendar=calendar, form=form, year_form=year_form,
                           action_form=ActionForm(), known=china_years(), notes=notes,
                           days_off=days_off_ahead(business, today), workdays=workdays_ahead(business, today)), status


@bp.get("/")
@login_required
@requires("manage_calendars")
def index():
    calendars = db().scalars(sa.select(CompanyCalendar).where(CompanyCalendar.company_id == current_user.company_id)
                             .order_by(CompanyCalendar.is_default.desc(), CompanyCalendar.name)).all()
    return render_template("admin/calendars.html", calendars=calendars, action_form=ActionForm(),
                           people=names_by_id(db(), {c.updated_by_id for c in calendars}))


@bp.route("/new", methods=["GET", "POST"])
@login_required
@requires("manage_calendars")
def new():
    """A new calendar, starting from the company's time zone, the usual hours and Monday to Friday."""
    form = CalendarForm(data=_initial(new_calendar(current_user.company, "")))
    if form.validate_on_submit() and not _name_taken(form, None):
        calendar = new_calendar(current_user.company, form.name.data)
        _save(calendar, form)
        flash(_("Calendar %(name)s created.", name=calendar.name), "success")
        return redirect(url_for("calendars.edit", calendar_id=calendar.id), 303)
    return render_template("admin/calendars_edit.html", calendar=None, form=form), 400 if form.errors else 200


@bp.route("/<int:calendar_id>", methods=["GET", "POST"])
@login_required
@requires("manage_calendars")
def edit(calendar_id: int):
    calendar = _calendar(calendar_id)
    form = CalendarForm(data=_initial(calendar))
    if form.validate_on_submit() and not _name_taken(form, calendar.id):
        _save(calendar, form)
        flash(_("Calendar %(name)s saved.", name=calendar.name), "success")
        return redirect(url_for("calendars.edit", calendar_id=calendar.id), 303)
    year_form = ChinaYearForm(formdata=None, data={"year": _today(calendar).year})
    return _edit_page(calendar, form, year_form, 400 if form.errors else 200)


@bp.post("/<int:calendar_id>/china")
@login_required
@requires("manage_calendars")
def fill_in_china(calendar_id: int):
    """Add mainland China's statutory holidays and adjusted working days of one year."""
    calendar = _calendar(calendar_id)
    year_form = ChinaYearForm()
    if not year_form.validate_on_submit():
        return _edit_page(calendar, CalendarForm(formdata=None, data=_initial(calendar)), year_form, 400)
    add_china_year(calendar, year_form.year.data)
    _touch(calendar)
    flash(_("Mainland China's official days of %(year)s added to %(name)s.", year=year_form.year.data,
            name=calendar.name), "success")
    return redirect(url_for("calendars.edit", calendar_id=calendar.id), 303)


@bp.post("/<int:calendar_id>/default")
@login_required
@requires("manage_calendars")
def make_default_calendar(calendar_id: int):
    """Make a calendar the one task due dates are counted on."""
    calendar = _calendar(calendar_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    make_default(db(), calendar)
    _touch(calendar)
    flash(_("Due dates are now counted on %(name)s.", name=calendar.name), "success")
    return redirect(url_for("calendars.index"), 303)
