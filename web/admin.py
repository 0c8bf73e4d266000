"""Administration: cases stopped by a diagram error, so an admin can see and act on them."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from auth.models import Role
from complaints.queries import stopped_cases
from web.context import db, roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/errors")
@login_required
@roles_required(Role.ADMIN)
def errors():
    return render_template("admin/errors.html", rows=stopped_cases(db(), current_user.company_id))
