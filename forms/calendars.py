"""The calendar administration forms: periods and days are typed as text; a line that cannot be read is named in
the error and everything typed stays."""
from __future__ import annotations

import re
from datetime import date, datetime, time
from itertools import pairwise
from zoneinfo import available_timezones

from babel.dates import get_day_names
from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from engine.calendars.company import CalendarSettings, china_years

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
    for (start, end), (later_start, later_end) in pairwise(periods):
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

    def settings(self) -> CalendarSettings:
        """What the form sets on a calendar."""
        return CalendarSettings(self.name.data.strip(), self.timezone.data, self.periods.data,
                                tuple(self.weekdays.data), self.holidays.data or {}, self.workdays.data or {})


class ChinaYearForm(FlaskForm):
    year = IntegerField(_l("Year"), [InputRequired()])

    def validate_year(self, field: IntegerField) -> None:
        known = china_years()
        if field.data not in known:
            raise ValidationError(_("Mainland China's official days are known for %(first)s to %(last)s only, not for "
                               "%(year)s.", first=known.start, last=known.stop - 1, year=field.data))
