"""Fixed vocabularies of a complaint. Labels are marked for translation and translated where shown."""
from __future__ import annotations


def N_(message: str) -> str:
    """Mark a string for extraction without translating it here (no Flask in the domain)."""
    return message


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
