"""Administration: cases stopped by a diagram error, so an admin can see and act on them."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from complaints.queries import stopped_cases
from web.context import db, requires

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/errors")
@login_required
@requires("see_stopped_cases")
def errors():
    return render_template("admin/errors.html", rows=stopped_cases(db(), current_user.company_id))
