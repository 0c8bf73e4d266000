"""Administration: cases stopped by a diagram error, so an admin can see and act on them."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import current_user, login_required

from complaints.models import Complaint
from engine.records import Instance
from web.context import db, requires

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/errors")
@login_required
@requires("see_stopped_cases")
def errors():
    rows = db().execute(
        sa.select(Instance, Complaint).outerjoin(Complaint, Complaint.instance_id == Instance.id)
        .where(Instance.company_id == current_user.company_id, Instance.status == "error")
        .order_by(Instance.updated_at.desc())
    ).all()
    return render_template("admin/errors.html", rows=rows)
