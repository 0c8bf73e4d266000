"""SLA policies, set by process owners per grade and category (each save is a new version), and the escalations
a breach sends to the next level up, which its members acknowledge from their inbox."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user, login_required
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from accounts.directory import names_by_id
from accounts.queries import group_names
from complaints import queries, sla
from engine.calendars.working_time import BusinessDuration, parse_business
from engine.errors import Conflict
from forms.actions import ActionForm
from forms.sla import AcknowledgeForm, PolicyForm, category_label, grade_label
from web.context import db, engine, perform, requires
from web.errors import describe

bp = Blueprint("sla", __name__, url_prefix="/sla")


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


def _policy_form(**kwargs) -> PolicyForm:
    return PolicyForm(groups=group_names(db(), current_user.company_id), **kwargs)


def _policy(policy_id: int) -> sla.SlaPolicy:
    found = queries.sla_policy(db(), current_user.company_id, policy_id)
    if found is None:
        abort(404)
    return found


def _save_policy(**values) -> sla.SlaPolicy:
    """The next version of the policy slot `values` name, saved by the signed-in user."""
    return perform(lambda s: sla.save_policy(s, current_user.company_id, current_user.id, **values))


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
    form = _policy_form()
    if form.validate_on_submit():
        current = {(p.grade, p.category): p for p in sla.current_policies(db(), current_user.company_id)}
        existing = current.get((form.grade.data, form.category.data))
        if existing is None:
            policy = _save_policy(**form.values())
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
    form = _policy_form(data={"grade": policy.grade, "category": policy.category, "note": "",
                            "response_target": policy.response_target, "resolution_target": policy.resolution_target,
                            "warn_percent": round(policy.warn_fraction * 100), "escalate_to": policy.escalate_to})
    if request.method == "POST":  # the slot is what this page edits, whatever the request says
        form.grade.data, form.category.data = policy.grade, policy.category
    if form.validate_on_submit():
        saved = _save_policy(**form.values())
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
    _save_policy(grade=policy.grade, category=policy.category, response_target=policy.response_target,
                 resolution_target=policy.resolution_target, warn_fraction=policy.warn_fraction,
                 escalate_to=policy.escalate_to, note=_("Retired"), retired=True)
    flash(_("Policy retired: %(grade)s, %(category)s. Running clocks keep their version.",
            grade=grade_label(policy.grade), category=category_label(policy.category)), "success")
    return redirect(url_for("sla.index"), 303)


@bp.post("/escalations/<int:clock_id>")
@login_required
@requires("work_cases")
def acknowledge(clock_id: int):
    """A member of the group a breach escalated to records what was done about it."""
    clock = queries.sla_clock(db(), current_user.company_id, clock_id)
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
    try:  # the clock as read: one acknowledged since fails its version check (a Conflict) instead of being overwritten
        perform(lambda s: sla.acknowledge(s, engine(), s.merge(clock, load=False), current_user.id,
                                          form.text.data.strip(), engine().clock()))
    except Conflict as error:
        flash(describe(error), "error")
        return redirect(url_for("inbox.index"), 303)
    flash(_("Escalation acknowledged."), "success")
    return redirect(url_for("inbox.index"), 303)
