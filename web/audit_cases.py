"""Auditing across complaints: the company's complaints on one procedure, filtered by version, status, registration
dates, grade and category, and a heatmap of the filtered set on the procedure's diagram.

Every filter but the grade is applied in SQL. A grade is part of a case's data, kept under a name each procedure
chooses (GRADES), so it is read from the data the case's replay ends with, which the heatmap needs anyway.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from complaints.choices import CATEGORIES, GRADES, STATUSES, grade_key
from complaints.models import Complaint
from complaints.queries import Filters, matching
from engine.history.audit import ChainReport
from engine.history.heatmap import CaseTrace, ElementHeat, Heatmap, cached_trace, heatmap
from engine.records import ProcessVersion
from engine.repository import listings, publishing
from engine.repository.specs import CompiledProcess, name_in
from web.context import STANDARD_PROCESS, db, engine, requires
from web.i18n import locale_code
from web.inputs import int_arg

bp = Blueprint("audit_cases", __name__, url_prefix="/audit")
HEAT_LEVELS = 5  # colours of the scale, from the fewest runs to the most


@dataclass(frozen=True)
class CaseRow:
    complaint: Complaint
    trace: CaseTrace
    chain: ChainReport
    grade: str | None


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def read_filters(args: MultiDict) -> Filters:
    return Filters(
        procedure=args.get("procedure") or None, version=int_arg(args, "version"),
        status=args.get("status") if args.get("status") in STATUSES else None,
        registered_from=_date(args.get("from")), registered_to=_date(args.get("to")),
        grade=args.get("grade") if args.get("grade", "").partition(":")[0] in GRADES else None,
        category=args.get("category") if args.get("category") in CATEGORIES else None)


def _rows(complaints: list[Complaint]) -> list[CaseRow]:
    """Each complaint with its trace and the verdict on its chain (all chains verified in one query)."""
    chains = {report.instance_id: report for report in engine().auditor.verify(
        db(), current_user.company_id, instance_ids=[c.instance_id for c in complaints])} if complaints else {}
    rows = []
    for complaint in complaints:
        chain = chains[complaint.instance_id]
        case = cached_trace(db(), engine(), complaint.instance, chain)
        rows.append(CaseRow(complaint, case, chain, grade_key(case.data)))
    return rows


@bp.get("/")
@login_required
@requires("audit")
def index():
    """The filter form, the matching complaints, and their heatmap on the procedure's diagram."""
    locale = locale_code()
    newest = {v.process_key: v for v in publishing.latest_versions(db(), current_user.company_id)}
    if not newest:
        return render_template("audit/index.html", procedures={}, filters=Filters())
    filters, versions = _scope(read_filters(request.args), newest)
    diagram = versions[filters.version] if filters.version else newest[filters.procedure]
    candidates = _rows(matching(db(), current_user.company_id, current_user.company.timezone, filters))
    rows = [row for row in candidates if not filters.grade or row.grade == filters.grade]
    result = heatmap(row.trace for row in rows)
    options = _option_names(engine().compiled(diagram), locale)
    return render_template(
        "audit/index.html", filters=filters, rows=rows, versions=versions, diagram=diagram,
        procedures={key: name_in(engine().compiled(v).element_names, key, locale) for key, v in newest.items()},
        grades={key: _grade_label(key, options)
                for key in sorted({row.grade for row in candidates if row.grade} | {filters.grade} - {None})},
        statuses=STATUSES, categories=CATEGORIES, legend=_legend(result.most_runs),
        payload=_payload(result, diagram, locale))


def _scope(asked: Filters, newest: dict[str, ProcessVersion]) -> tuple[Filters, dict[int | None, ProcessVersion]]:
    """The procedure asked for (else the standard one, else the first) and one of its versions or all, with the
    procedure's published versions."""
    procedure = asked.procedure if asked.procedure in newest else (
        STANDARD_PROCESS if STANDARD_PROCESS in newest else next(iter(newest)))
    versions = listings.procedure_versions(db(), current_user.company_id, procedure)
    return replace(asked, procedure=procedure, version=asked.version if asked.version in versions else None), versions


def _option_names(process: CompiledProcess, locale: str) -> dict[str, dict[str, str]]:
    """The names the diagram gives the values of its grade fields that are choices (urgency: 'urgent' → 紧急)."""
    return {spec.id: {o.id: o.names.get(locale) or o.name for o in spec.options}
            for task in process.tasks.values() for spec in task.fields if spec.id in GRADES and spec.options}


def _grade_label(key: str, options: dict[str, dict[str, str]]) -> str:
    field, _colon, value = key.partition(":")
    return _(GRADES[field], grade=options.get(field, {}).get(value, value))


def duration(seconds: float | None) -> str:
    """A median as people say it: minutes below an hour, hours below two days, then days; '' for no time."""
    if not seconds:
        return ""
    minutes = seconds / 60
    if minutes < 1:
        return _("< 1 min")
    if minutes < 60:
        return _("%(n)s min", n=round(minutes))
    if minutes < 48 * 60:
        return _("%(n)s h", n=round(minutes / 60))
    return _("%(n)s d", n=round(minutes / (24 * 60)))


def heat_level(runs: int, most: int) -> int:
    """The colour of a run count: 1 (fewest) to HEAT_LEVELS (most); 0 for an element that never finished."""
    return math.ceil(runs * HEAT_LEVELS / most) if runs and most else 0


def _legend(most: int) -> list[tuple[int, str]]:
    """Each colour with the run counts it stands for; colours no whole count falls in are left out."""
    bands = []
    for level in range(1, HEAT_LEVELS + 1):
        low, high = math.floor((level - 1) * most / HEAT_LEVELS) + 1, math.floor(level * most / HEAT_LEVELS)
        if low <= high:
            bands.append((level, str(low) if low == high else f"{low}–{high}"))
    return bands


def _badge(heat: ElementHeat) -> tuple[str, str]:
    """The overlay's short text ("×12 · 3 h · 2 open") and its longer title."""
    median = duration(heat.median_seconds)
    parts = [f"×{heat.runs}"] if heat.runs else []
    parts += [median] if median else []
    parts += [_("%(n)s open", n=heat.open)] if heat.open else []
    title = [ngettext("Finished %(num)s time", "Finished %(num)s times", heat.runs)]
    title += [_("median time %(time)s", time=median)] if median else []
    if heat.open:
        title.append(ngettext("open now in %(num)s complaint", "open now in %(num)s complaints", heat.open))
    return " · ".join(parts), ", ".join(title)


def _payload(result: Heatmap, diagram: ProcessVersion, locale: str) -> dict[str, Any]:
    """What heatmap.js draws: the diagram to load, each element's colour and texts, each flow's count."""
    elements = {}
    for element_id, heat in result.elements.items():
        label, title = _badge(heat)
        elements[element_id] = {"runs": heat.runs, "open": heat.open, "heat": heat_level(heat.runs, result.most_runs),
                                "label": label, "title": title}
    flows = {flow_id: {"count": count, "title": ngettext("Taken %(num)s time", "Taken %(num)s times", count)}
             for flow_id, count in result.flows.items()}
    return {"diagram": url_for("procedures.download", key=diagram.process_key, number=diagram.version),
            "locale": locale, "elements": elements, "flows": flows}
