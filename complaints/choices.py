"""Fixed vocabularies of a complaint. Labels are marked for translation and translated where shown."""
from __future__ import annotations

from typing import Any

from engine import N_

CHANNELS: dict[str, str] = {
    "phone": N_("Phone"),
    "in_store": N_("In store"),
    "delivery_staff": N_("Delivery staff"),
    "written": N_("Written"),
    "email": N_("E-mail"),
    "web": N_("Web"),
}

CATEGORIES: dict[str, str] = {
    "product_quality": N_("Product quality"),
    "delivery": N_("Delivery"),
    "service_attitude": N_("Service attitude"),
    "handling": N_("Handling"),
    "other": N_("Other"),
}

STATUSES: dict[str, str] = {
    "running": N_("In progress"),
    "completed": N_("Closed"),
    "error": N_("Stopped by an error"),
}

# A complaint's status as its register shows and filters it: a closed case told apart by how its end event closes
# it (complaints.models.CLOSED_AS); "completed" is a normal closure (结案).
COMPLAINT_STATUSES: dict[str, str] = {
    "running": N_("In progress"),
    "completed": N_("Closed"),
    "invalid": N_("Closed as invalid"),
    "abnormal": N_("Closed abnormally"),
    "error": N_("Stopped by an error"),
}

# Where the procedures keep a case's grade, the first one a case has winning: the grading table's `level` (the
# standard and graded procedures; the standard one also asks an `urgency`), the A-E table's `complaint_class`
# (graded), the `urgency` chosen when classifying (QP07). The e-commerce procedure does not grade.
GRADES: dict[str, str] = {
    "level": N_("Level %(grade)s"),
    "complaint_class": N_("Class %(grade)s"),
    "urgency": N_("Urgency: %(grade)s"),
}
# The grade values the shipped procedures give, for choosing a grade where no case is at hand (SLA policies).
GRADE_VALUES: dict[str, dict[str, str]] = {
    "level": {level: level for level in ("1", "2", "3", "4", "5")},
    "complaint_class": {grade: grade for grade in ("A", "B", "C", "D", "E")},
    "urgency": {"general": N_("General"), "urgent": N_("Urgent"), "very_urgent": N_("Very urgent"),
                "special": N_("Special (urgent)")},
}


def grade_key(data: dict[str, Any]) -> str | None:
    """The case's grade as "field:value", from the first grade field its data holds."""
    return next((f"{field}:{data[field]}" for field in GRADES if data.get(field) not in (None, "")), None)
