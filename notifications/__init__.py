"""Notifications: in the app, by e-mail one by one or in a daily digest, in each user's language."""
from notifications.notify import notify, on_step, recipients

__all__ = ["notify", "on_step", "recipients"]
