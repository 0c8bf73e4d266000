"""Move running complaints to a newer version: a dry run per complaint, then each one in its own transaction."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy.orm import Session

from engine import queries
from engine.errors import EngineError, NotFound
from engine.records import ProcessVersion
from engine.repository import listings, publishing
from engine.repository.specs import name_in
from engine.runtime import instance_migration as migration
from forms.procedures import MigrateForm
from web.context import actor, db, engine, perform, requires
from web.errors import describe
from web.i18n import locale_code
from web.inputs import int_arg, int_list

bp = Blueprint("migrate", __name__, url_prefix="/procedures")


def _target(key: str) -> ProcessVersion:
    """The version to move to: ?to=N, else the newest."""
    number = int_arg(request.values, "to")
    try:
        if number is None:
            return publishing.latest_version(db(), current_user.company_id, key)
        return publishing.published_version(db(), current_user.company_id, key, number)
    except NotFound:
        abort(404)


def _page(target: ProcessVersion, results=None):
    """The dry run of the cases still on older versions, after the results of the moves just made."""
    locale = locale_code()
    older = listings.running_on_older_versions(db(), target)
    checks = migration.plan(db(), engine(), older, target)
    running = {i.id: i for i in older}
    open_now = {c.instance_id: [name_in(engine().compiled(running[c.instance_id].version).element_names, e, locale)
                                for e in c.current_elements] for c in checks if c.instance_id in running}
    return render_template("procedures/migrate.html", target=target, checks=checks, results=results or [],
                           versions={i: row.version.version for i, row in running.items()}, open_now=open_now,
                           form=MigrateForm(), title=name_in(engine().compiled(target).element_names,
                                                             target.process_key, locale))


@bp.get("/<key>/migrate")
@login_required
@requires("migrate_cases")
def dry_run(key: str):
    """Per running complaint on an older version: can it move to the target, and if not, why not."""
    target = _target(key)
    return _page(target)


def _move_one(instance_id: int, target: ProcessVersion) -> str | None:
    """Migrate one complaint in its own transaction; the reason it failed, or None."""
    def move(session: Session) -> None:
        instance = queries.get_instance(session, instance_id, current_user.company_id)
        migration.migrate(session, engine(), instance, session.merge(target), actor())
    try:
        perform(move)
    except EngineError as error:
        return describe(error)
    return None


@bp.post("/<key>/migrate")
@login_required
@requires("migrate_cases")
def apply(key: str):
    """Move the chosen complaints one by one, so one that cannot move does not hold back the others."""
    target = _target(key)
    if not MigrateForm().validate_on_submit():
        abort(400)
    chosen = int_list(request.form, "instance")
    keys = listings.business_keys(db(), current_user.company_id, chosen)
    results = [(i, keys[i], _move_one(i, target)) for i in chosen if i in keys]
    return _page(target, results)
