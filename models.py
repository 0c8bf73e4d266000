"""Import every model module so the metadata knows all tables (for create_all and Alembic)."""
from auth.calendars import CompanyCalendar  # noqa: F401
from auth.models import ApiToken, Company, Group, User, UserSession, user_groups  # noqa: F401
from complaints.models import Complaint, ComplaintCounter  # noqa: F401
from complaints.sla import SlaClock, SlaPolicy  # noqa: F401
from complaints.viewlog import CaseView  # noqa: F401
from engine.periodic import PeriodicStart  # noqa: F401
from engine.records import Event, InboxTask, Instance, ProcessVersion, TaskCandidate  # noqa: F401
from notifications.models import Notification, NotificationPreferences  # noqa: F401
