"""The register's filters and its exports, shared by the register page and the API: the rows the filters match,
sent to Excel or CSV as they are read.

Both go to a temporary file first and are then sent, so memory holds one chunk of rows whatever the size. Excel:
openpyxl's write-only workbook (each sheet streams to a temporary file, the workbook is zipped from them). Sheet 1
is form QP0701's layout (客户投诉一览表: NO, date, customer name, complaint content, reporting department,
remarks); sheet 2 has every column of the register. Headers are in the user's language, times on the company's
clock. Text a spreadsheet would run as a formula is written as text."""
from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from flask import Response, current_app, request, send_file
from flask_babel import gettext as _
from flask_login import current_user
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font

from accounts.models import Company
from complaints import queries as complaint_queries
from complaints.choices import CATEGORIES, CHANNELS, COMPLAINT_STATUSES
from complaints.models import Complaint
from complaints.queries import Registrar
from web.context import db, engine

DATE = "yyyy-mm-dd"
DATE_TIME = "yyyy-mm-dd hh:mm"
# What a spreadsheet reads as the start of a formula (OWASP's CSV injection list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def qp0701_headers() -> list[str]:
    return [_("NO"), _("Date"), _("Customer name"), _("Complaint content"), _("Reporting department"), _("Remarks")]


def column_headers() -> list[str]:
    return [_("Number"), _("Registered"), _("Customer"), _("Contact person"), _("Contact"), _("Category"),
            _("Channel"), _("Product"), _("Specification / model"), _("Contract number"), _("Work number"),
            _("Complaint"), _("The customer's request"), _("Status"), _("Registered by"), _("Reporting department")]


class Row:
    """One complaint as the export shows it."""

    def __init__(self, complaint: Complaint, zone: ZoneInfo, people: dict[int, Registrar]) -> None:
        registrar = people.get(complaint.registered_by_id or 0)
        self.complaint = complaint
        self.registered = complaint.registered_at.astimezone(zone).replace(tzinfo=None)  # Excel has no time zones
        self.by = registrar.name if registrar else ""
        # The complaint records no department of its own: the registering person's group(s) reported it.
        self.department = "、".join(registrar.groups) if registrar else ""
        status = complaint.status  # closed ones by how they closed, as the register shows them
        self.status = _(COMPLAINT_STATUSES[status]) if status in COMPLAINT_STATUSES else status

    def qp0701(self) -> list[Any]:
        c = self.complaint
        return [c.number, self.registered.date(), c.customer_name, c.content, self.department, c.customer_request]

    def columns(self) -> list[Any]:
        c = self.complaint
        return [c.number, self.registered, c.customer_name, c.contact_person, c.contact,
                _(CATEGORIES[c.category]) if c.category in CATEGORIES else c.category,
                _(CHANNELS[c.channel]) if c.channel in CHANNELS else c.channel, c.product, c.specification,
                c.contract_number, c.work_number, c.content, c.customer_request, self.status, self.by,
                self.department]


def rows(complaints: Iterable[Complaint], zone: str, people: dict[int, Registrar]) -> Iterator[Row]:
    clock = ZoneInfo(zone)
    return (Row(c, clock, people) for c in complaints)


def _cells(sheet: Any, values: list[Any], bold: bool = False) -> list[WriteOnlyCell]:
    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str) and value.startswith(FORMULA_START):
            cell.data_type = "s"  # text, not a formula Excel would run
        elif isinstance(value, datetime):
            cell.number_format = DATE_TIME
        elif hasattr(value, "year"):
            cell.number_format = DATE
        if bold:
            cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def write_xlsx(found: Iterable[Row], title: str) -> IO[bytes]:
    """The workbook in a temporary file, rewound (the caller sends and closes it)."""
    book = Workbook(write_only=True)
    register, everything = book.create_sheet(_("Complaint list")), book.create_sheet(_("All columns"))
    register.column_dimensions["B"].width, register.column_dimensions["C"].width = 12, 28
    register.column_dimensions["D"].width, register.column_dimensions["E"].width = 60, 16
    register.column_dimensions["F"].width = 30
    heading = WriteOnlyCell(register, value=title)
    heading.font = Font(bold=True, size=14)
    heading.alignment = Alignment(horizontal="left")
    register.append([heading])
    register.append(_cells(register, qp0701_headers(), bold=True))
    everything.append(_cells(everything, column_headers(), bold=True))
    for row in found:
        register.append(_cells(register, row.qp0701()))
        everything.append(_cells(everything, row.columns()))
    output = tempfile.TemporaryFile()  # noqa: SIM115 - handed to send_file, which closes it once sent
    book.save(output)
    output.seek(0)
    return output


def _csv_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def write_csv(found: Iterable[Row]) -> IO[bytes]:
    """Every column of the register in a temporary file, rewound, after a byte-order mark (Excel then reads the
    UTF-8); written before it is sent, so that the response needs no database or request once it streams."""
    output = tempfile.TemporaryFile()  # noqa: SIM115 - handed to send_file, which closes it once sent
    text = io.TextIOWrapper(output, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(column_headers())
    for row in found:
        writer.writerow([_csv_text(v) for v in row.columns()])
    text.flush()
    text.detach()
    output.seek(0)
    return output


# -- what the register page and the API both read and send ---------------------------------------------------

SEARCH_MAX = 100  # characters of a search: more is no one's search


@dataclass(frozen=True)
class Filters:
    """The register's search, status tab and "mine" from the query string, as the page, its links and the exports
    read them: an unknown status is no filter, a search is trimmed to SEARCH_MAX characters."""

    q: str | None
    status: str | None
    mine_of: int | None  # the signed-in user, when only their open complaints are wanted

    @classmethod
    def of(cls, q: str | None, status: str | None, mine_of: int | None) -> Filters:
        """The filters from their values as given (the page's query string, the API's checked query)."""
        return cls((q or "").strip()[:SEARCH_MAX] or None, status if status in COMPLAINT_STATUSES else None, mine_of)

    @classmethod
    def read(cls) -> Filters:
        return cls.of(request.args.get("q"), request.args.get("status"),
                      current_user.id if request.args.get("mine") == "1" else None)

    def query(self) -> dict[str, str | None]:
        """The same filters as URL arguments, for a redirect back to the register."""
        return {"q": self.q, "status": self.status, "mine": "1" if self.mine_of else None}


def export_refused(company_id: int, found: Filters) -> int | None:
    """EXPORT_MAX_ROWS when the filters match more complaints than one export may hold, else None."""
    limit: int = current_app.config["EXPORT_MAX_ROWS"]
    if complaint_queries.count_matching(db(), company_id, found.q, found.status, limit, found.mine_of) <= limit:
        return None
    return limit


def export_file(company: Company, found: Filters, extension: str) -> Response:
    """The register's rows `found` matches as an Excel workbook (QP0701 sheet + every column) or a CSV file: what the
    page's export links and the API's export send."""
    people = complaint_queries.registrars(db(), company.id)
    found_rows = rows(complaint_queries.register_rows(db(), company.id, found.q, found.status, found.mine_of),
                      company.timezone, people)
    name = f"complaints-{engine().clock().astimezone(ZoneInfo(company.timezone)):%Y%m%d-%H%M}.{extension}"
    if extension == "csv":
        return send_file(write_csv(found_rows), as_attachment=True, download_name=name,
                         mimetype="text/csv; charset=utf-8")
    title = _("Customer complaint list (QP0701) — %(company)s", company=company.name)
    return send_file(write_xlsx(found_rows, title), as_attachment=True, download_name=name,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
