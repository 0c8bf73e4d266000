"""SLA policies, set by process owners per grade and category (each save is a new version), and the escalations
a breach sends to the next level up, which its members acknowledge from their inbox."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from auth.directory import names_by_id
from auth.models import Group
from complaints import sla
from complaints.choices import CATEGORIES, GRADE_VALUES, GRADES
from engine.calendar import BusinessDuration, parse_business
from engine.errors import Conflict
from web.context import db, engine, requires
from web.errors import describe
from web.tasks import AcknowledgeForm, ActionForm

bp = Blueprint("sla", __name__, url_prefix="/sla")
TARGET_HINT = _l("Business time on the company's calendar (“5 working days”, “4 working hours”, “next working day "
                 "15:00”) or calendar time in ISO 8601 (“PT24H”); empty: no target.")


def grade_label(key: str) -> str:
    """'level:1' → 'Level 1'; '' → any grade."""
    if not key:
        return _("Any grade")
    field, _sep, value = key.partition(":")
    return _(GRADES[field], grade=_(GRADE_VALUES.get(field, {}).get(value, value))) if field in GRADES else key


def category_label(key: str) -> str:
    return _(CATEGORIES[key]) if key in CATEGORIES else _("Any category")


ISO_UNITS = {  # the units of an ISO 8601 duration, largest first, as a reader counts them
    "years": lambda n: ngettext("%(num)s year", "%(num)s years", n),
    "months": lambda n: ngettext("%(num)s month", "%(num)s months", n),
    "weeks": lambda n: ngettext("%(num)s week", "%(num)s weeks", n),
    "days": lambda n: ngettext("%(num)s day", "%(num)s days", n),
    "hours": lambda n: ngettext("%(num)s hour", "%(num)s hours", n),
    "minutes": lambda n: ngettext("%(num)s minute", "%(num)s minutes", n),
    "seconds": lambda n: ngettext("%(num)s second", "%(num)s seconds", n),
}


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _business_text(business: BusinessDuration) -> str:
    if business.days is not None:
        return ngettext("%(num)s working day", "%(num)s working days", business.days)
    if business.hours is not None:
        hours = _number(business.hours)
        if isinstance(hours, float):  # plural forms are chosen by whole numbers
            return _("%(hours)s working hours", hours=hours)
        return ngettext("%(num)s working hour", "%(num)s working hours", hours)
    at = business.at.strftime("%H:%M") if business.at else ""
    return _("next working day %(time)s", time=at) if business.working else _("next day %(time)s", time=at)


@bp.app_template_filter("sla_target")
def target_text(text: str) -> str:
    """A target as the reader says it ('5 working days' → '5 个工作日', 'PT24H' → '24 小时'); what cannot be
    read stays as written."""
    try:
        business = parse_business(text)
        if business is not None:
            return _business_text(business)
        parts = TimerEventDefinition.parse_iso_duration(text) if text.startswith("P") else {}
    except Exception:  # noqa: BLE001 - SpiffWorkflow says only "Invalid duration", with a bare Exception
        return text
    amounts = [(say, _number(parts[unit])) for unit, say in ISO_UNITS.items() if parts.get(unit)]
    if any(isinstance(amount, float) for _say, amount in amounts):
        return text  # 'PT1.5H': plural forms are chosen by whole numbers, and the ISO text is clear enough
    return " ".join(say(amount) for say, amount in amounts) or text


@bp.app_template_filter("clock_name")
def clock_name(kind: str) -> str:
    """An SLA clock's name in the reader's language ('resolution' → '解决')."""
    return _(sla.KINDS[kind]) if kind in sla.KINDS else kind


def _check_target(form: FlaskForm, field: StringField) -> None:
    problem = sla.target_problem(field.data or "")
    if problem:
        raise ValidationError(_(problem))


class PolicyForm(FlaskForm):
    grade = SelectField(_l("Grade"))
    category = SelectField(_l("Category"))
    response_target = StringField(_l("Respond within"), [Length(max=64), _check_target], description=TARGET_HINT)
    resolution_target = StringField(_l("Resolve within"), [Length(max=64), _check_target], description=TARGET_HINT)
    warn_percent = IntegerField(_l("Warn at (percent of the target)"), [InputRequired(), NumberRange(1, 99)], default=80)
    escalate_to = SelectField(_l("On a breach, escalate to"))
    note = TextAreaField(_l("What changed and why"), [DataRequired(), Length(max=2000)])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.grade.choices = [("", _("Any grade"))] + [(f"{field}:{value}", grade_label(f"{field}:{value}"))
                                                      for field, values in GRADE_VALUES.items() for value in values]
        self.category.choices = [("", _("Any category"))] + [(key, _(label)) for key, label in CATEGORIES.items()]
        groups = db().scalars(sa.select(Group.name).where(Group.company_id == current_user.company_id)
                              .order_by(Group.name))
        self.escalate_to.choices = [("", _("Nobody (notify the task holders only)"))] + [(g, g) for g in groups]

    def validate_resolution_target(self, field: StringField) -> None:
        if not (field.data or "").strip() and not (self.response_target.data or "").strip():
            raise ValidationError(_("Give a response target, a resolution target or both."))

    def values(self) -> dict:
        return {"grade": self.grade.data, "category": self.category.data,
                "response_target": self.response_target.data.strip(),
                "resolution_target": self.resolution_target.data.strip(),
                "warn_fraction": self.warn_percent.data / 100, "escalate_to": self.escalate_to.data,
                "note": self.note.data.strip()}


def _policy(policy_id: int) -> sla.SlaPolicy:
    found = db().scalar(sa.select(sla.SlaPolicy).where(sla.SlaPolicy.id == policy_id,
                                                       sla.SlaPolicy.company_id == current_user.company_id))
    if found is None:
        abort(404)
    return found


@bp.get("/")
@login_required
@requires("manage_sla")
def index():
    policies = sla.current_policies(db(), current_user.company_id)
    return render_template("sla/index.html", policies=policies, grade_label=grade_label,
                           category_label=category_label, people=names_by_id(db(), {p.created_by_id for p in policies}))


@bp.route("/new", methods=["GET", "POST"])
@login_required
@requires("manage_sla")
def new():
    form = PolicyForm()
    if form.validate_on_submit():
        current = {(p.grade, p.category): p for p in sla.current_policies(db(), current_user.company_id)}
        existing = current.get((form.grade.data, form.category.data))
        if existing is None:
            policy = sla.save_policy(db(), current_user.company_id, current_user.id, **form.values())
            db().commit()
            flash(_("Policy saved: %(grade)s, %(category)s.", grade=grade_label(policy.grade),
                    category=category_label(policy.category)), "success")
            return redirect(url_for("sla.index"), 303)
        form.grade.errors.append(_("A policy for this grade and category is in force already: change it instead."))
    return render_template("sla/edit.html", form=form, policy=None), 400 if form.errors else 200


@bp.route("/<int:policy_id>", methods=["GET", "POST"])
@login_required
@requires("manage_sla")
def edit(policy_id: int):
    """Change a policy: the form saves the slot's next version; cases keep the version their clocks run on."""
    policy = _policy(policy_id)
    form = PolicyForm(data={"grade": policy.grade, "category": policy.category, "note": "",
                            "response_target": policy.response_target, "resolution_target": policy.resolution_target,
                            "warn_percent": round(policy.warn_fraction * 100), "escalate_to": policy.escalate_to})
    if request.method == "POST":  # the slot is what this page edits, whatever the request says
        form.grade.data, form.category.data = policy.grade, policy.category
    if form.validate_on_submit():
        saved = sla.save_policy(db(), current_user.company_id, current_user.id, **form.values())
        db().commit()
        flash(_("Version %(version)s saved; new and regraded cases run on it.", version=saved.version), "success")
        return redirect(url_for("sla.edit", policy_id=saved.id), 303)
    versions = sla.history(db(), current_user.company_id, policy.grade, policy.category)
    return render_template("sla/edit.html", form=form, policy=policy, versions=versions, action_form=ActionForm(),
                           grade_label=grade_label, category_label=category_label,
                           people=names_by_id(db(), {v.created_by_id for v in versions})), 400 if form.errors else 200


@bp.post("/<int:policy_id>/retire")
@login_required
@requires("manage_sla")
def retire(policy_id: int):
    policy = _policy(policy_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    sla.save_policy(db(), current_user.company_id, current_user.id, grade=policy.grade, category=policy.category,
                    response_target=policy.response_target, resolution_target=policy.resolution_target,
                    warn_fraction=policy.warn_fraction, escalate_to=policy.escalate_to,
                    note=_("Retired"), retired=True)
    db().commit()
    flash(_("Policy retired: %(grade)s, %(category)s. Running clocks keep their version.",
            grade=grade_label(policy.grade), category=category_label(policy.category)), "success")
    return redirect(url_for("sla.index"), 303)


@bp.post("/escalations/<int:clock_id>")
@login_required
@requires("work_cases")
def acknowledge(clock_id: int):
    """A member of the group a breach escalated to records what was done about it."""
    clock = db().scalar(sa.select(sla.SlaClock).where(sla.SlaClock.id == clock_id,
                                                      sla.SlaClock.company_id == current_user.company_id))
    if clock is None or clock.breached_at is None:
        abort(404)
    if clock.policy.escalate_to not in {g.name for g in current_user.groups}:
        abort(403)
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        flash(_("Say what was done about the breach."), "error")
        return redirect(url_for("inbox.index"), 303)
    if clock.acknowledged_at is not None:
        flash(_("%(name)s acknowledged this escalation first.",
                name=names_by_id(db(), {clock.acknowledged_by_id}).get(clock.acknowledged_by_id, "?")), "error")
        return redirect(url_for("inbox.index"), 303)
    try:
        sla.acknowledge(db(), engine(), clock, current_user.id, form.text.data.strip(), engine().clock())
        db().commit()
    except Conflict as error:
        db().rollback()
        flash(describe(error), "error")
        return redirect(url_for("inbox.index"), 303)
    flash(_("Escalation acknowledged."), "success")
    return redirect(url_for("inbox.index"), 303)
