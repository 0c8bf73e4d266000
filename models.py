"""Import every model module so the metadata knows all tables (for create_all and Alembic)."""
from accounts.models import ApiToken, Company, Group, User, UserSession, user_groups  # noqa: F401
from complaints.models import Complaint, ComplaintCounter  # noqa: F401
from complaints.sla import SlaClock, SlaPolicy  # noqa: F401
from complaints.viewlog import CaseView  # noqa: F401
from engine.calendars.company import CompanyCalendar  # noqa: F401
from engine.jobs.periodic import PeriodicStart  # noqa: F401
from engine.records import Event, InboxTask, Instance, ProcessVersion, TaskCandidate  # noqa: F401
from notifications.models import Notification, NotificationPreferences  # noqa: F401
