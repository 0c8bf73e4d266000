"""Replaying one complaint step by step: the diagram of the version each step ran on, what finished and was open
after every step, who took it and for whom, and the data it changed. Every step is in the page, so stepping
needs no request; the step number is in the URL so a step can be linked."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from cachetools import LRUCache
from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import get_timezone
from flask_login import current_user, login_required
from markupsafe import Markup

from accounts.directory import names_by_id
from complaints import queries as complaint_queries
from complaints.choices import STATUSES
from engine import queries
from engine.dto import InstanceView
from engine.errors import NotFound
from engine.history.replay import Replay, ReplayStep, cached_replay
from engine.records import ProcessVersion
from engine.repository import listings
from engine.repository.specs import CompiledProcess, name_in
from forms.builder import form_labels
from web.context import db, engine, record_viewing
from web.i18n import locale_code
from web.inputs import int_arg

bp = Blueprint("replay", __name__, url_prefix="/complaints")
TIMELINES: LRUCache[tuple, Markup] = LRUCache(64)
# Inputs taken for a group: the task's candidate groups (or its lane) are whom the actor acted for.
_FOR_GROUPS = {"task_claimed", "task_released", "task_completed"}


@bp.get("/<int:instance_id>/replay")
@login_required
def show(instance_id: int):
    """The replay page, opened at `?step=N` (default: the last step)."""
    try:
        complaint = complaint_queries.complaint_for_instance(db(), current_user.company_id, instance_id)
    except NotFound:
        abort(404)
    record_viewing(instance_id, "replay")
    instance = complaint.instance
    result, chain = cached_replay(db(), engine(), instance)
    versions = _versions(result, instance.company_id)
    processes = {version_id: engine().compiled(version) for version_id, version in versions.items()}
    view = _with_every_version(queries.instance_view(db(), engine(), instance), processes.values())
    locale = locale_code()
    total = len(result.steps)
    step = int_arg(request.args, "step", total, low=1, high=max(total, 1))
    return render_template("complaints/replay.html", complaint=complaint, view=view, replay=result, step=step,
                           timeline=_timeline(result, chain.intact, instance.event_head, processes, view, locale),
                           chain=chain, statuses=STATUSES, locale=locale,
                           payload=_payload(result, versions, view, locale))


def _timeline(result: Replay, intact: bool, head: str | None, processes: dict[int, CompiledProcess],
              view: InstanceView, locale: str) -> Markup:
    """The list of steps, rendered once per case head, language, time zone and names of the people in it:
    it is most of the page's cost (a 500-step case has a thousand events)."""
    people = names_by_id(db(), {e.actor_id for s in result.steps for e in s.events})
    key = (result.instance_id, head, locale, str(get_timezone()), tuple(sorted(people.items())))
    found = TIMELINES.get(key) if intact else None
    if found is None:
        behalf = {s.number: _on_behalf_of(s, processes[s.version_id], locale) for s in result.steps}
        found = Markup(render_template("complaints/_replay_timeline.html", replay=result, people=people,
                                       behalf=behalf, view=view, locale=locale))
        if intact:
            TIMELINES[key] = found
    return found


def _versions(result: Replay, company_id: int) -> dict[int, ProcessVersion]:
    rows = listings.versions_by_id(db(), company_id, {step.version_id for step in result.steps})
    return {version.id: version for version in rows}


def _with_every_version(view: InstanceView, processes) -> InstanceView:
    """Names and labels of every version the case ran on, the current one winning, for steps on older ones."""
    names: dict[str, dict[str, str]] = {}
    labels: dict[str, dict[str, str]] = form_labels()
    for process in processes:
        names.update(process.element_names)
        labels.update(process.field_labels)
    return replace(view, element_names={**names, **view.element_names}, field_labels={**labels, **view.field_labels})


def _on_behalf_of(step: ReplayStep, process: CompiledProcess, locale: str) -> str:
    """Whom the step was taken for: the groups the task was offered to (by their lanes' names)."""
    first = step.events[0]
    meta = process.tasks.get(first.element_id or "") if first.type in _FOR_GROUPS else None
    if meta is None:
        return ""
    return ", ".join([name_in(process.group_labels, g, locale) for g in meta.offered_groups]
                     + list(meta.candidate_users))


def _payload(result: Replay, versions: dict[int, ProcessVersion], view: InstanceView, locale: str) -> dict[str, Any]:
    """What the page's script steps through: each step's diagram state, and where each version's diagram is."""
    fields = {key for step in result.steps for key in step.changes}
    return {
        "steps": [{"version": s.version_id, "ran": s.ran, "flows": s.flows, "active": s.active,
                   "changes": s.changes, "reproduced": s.reproduced} for s in result.steps],
        "diagrams": {version_id: url_for("procedures.download", key=v.process_key, number=v.version)
                     for version_id, v in versions.items()},
        "labels": {key: view.label_of(key, locale) for key in sorted(fields)},
    }
