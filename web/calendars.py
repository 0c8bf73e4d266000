"""Administration of business calendars: time zone, working periods and weekdays, public holidays and adjusted
working days, mainland China's official days filled in by year, and which calendar is the company's default (the
one task due dates written in business time are counted on). The forms are in forms/calendars.py.
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from accounts import queries
from accounts.directory import names_by_id
from engine.calendars import company as calendar_admin
from engine.calendars.company import CompanyCalendar, china_years, days_off_ahead, new_calendar, workdays_ahead
from forms.actions import ActionForm
from forms.calendars import CalendarForm, ChinaYearForm
from web.context import db, perform, requires

bp = Blueprint("calendars", __name__, url_prefix="/admin/calendars")


def _calendar(calendar_id: int) -> CompanyCalendar:
    found = queries.calendar(db(), current_user.company_id, calendar_id)
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
    taken = queries.calendar_name_taken(db(), current_user.company_id, form.name.data.strip(), calendar_id)
    if taken:
        form.name.errors.append(_("The company already has a calendar called “%(name)s”.", name=form.name.data))
    return taken


def _save(calendar_id: int | None, form: CalendarForm) -> CompanyCalendar:
    """Create (no id) or change the calendar as the form says."""
    settings = form.settings()
    return perform(lambda s: calendar_admin.save_calendar(s, current_user.company_id, calendar_id, settings,
                                                          current_user.id))


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
    calendars = queries.calendars(db(), current_user.company_id)
    return render_template("admin/calendars.html", calendars=calendars, action_form=ActionForm(),
                           people=names_by_id(db(), {c.updated_by_id for c in calendars}))


@bp.route("/new", methods=["GET", "POST"])
@login_required
@requires("manage_calendars")
def new():
    """A new calendar, starting from the company's time zone, the usual hours and Monday to Friday."""
    form = CalendarForm(data=_initial(new_calendar(current_user.company, "")))
    if form.validate_on_submit() and not _name_taken(form, None):
        calendar = _save(None, form)
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
        calendar = _save(calendar.id, form)
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
    perform(lambda s: calendar_admin.fill_in_china_year(s, current_user.company_id, calendar_id, year_form.year.data,
                                                        current_user.id))
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
    perform(lambda s: calendar_admin.set_default(s, current_user.company_id, calendar_id, current_user.id))
    flash(_("Due dates are now counted on %(name)s.", name=calendar.name), "success")
    return redirect(url_for("calendars.index"), 303)
