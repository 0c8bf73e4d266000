"""The complaint register as people use it: search, keyset pages, and its export to Excel and CSV."""
from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from complaints.models import Complaint
from complaints.registration import register
from conftest import tamper
from engine.records import ProcessVersion

NUMBER = re.compile(r'class="number" href="/complaints/\d+">([^<]+)</a>')
NEXT = re.compile(r'<a rel="next" href="([^"]+)"')


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def numbers(response) -> list[str]:
    """The complaint numbers a register page lists, top to bottom."""
    return NUMBER.findall(response.get_data(as_text=True))


def register_page(browser, data: dict) -> None:
    response = browser.post("/complaints/new", data, token_from="/complaints/new")
    assert response.status_code == 303, text(response)


def register_many(database, engine, company, complaint_data, count: int, **changes) -> list[str]:
    """`count` complaints registered through the domain (as the page does, quicker): their numbers, oldest first."""
    made = []
    with database.session() as s:
        version = s.get(ProcessVersion, company.version.id)
        for n in range(count):
            values = {**complaint_data, **{k: v.format(n=n) for k, v in changes.items()}}
            made.append(register(s, engine, version, company.actor("service"), values, company.timezone).number)
    return made


@pytest.fixture()
def three(acme, login, complaint_data):
    """Three complaints registered on the page by customer service, differing in every searched field."""
    service = login(acme.email("service"))
    register_page(service, {**complaint_data, "customer_name": "上海明达涂料有限公司",
                            "content": "运输后漏液，桶身变形。", "contract_number": "HT-2026-0311",
                            "product": "环氧树脂 E-51"})
    register_page(service, {**complaint_data, "customer_name": "杭州青山电气", "contact_person": "李工",
                            "contact": "0571-8888 1234", "content": "电机异响", "contract_number": "QS-77",
                            "work_number": "WO-5521", "specification": "YE3-132M", "product": "三相电机"})
    register_page(service, {**complaint_data, "customer_name": "Acme Paints 100%_off", "content": "Colour fades",
                            "contract_number": "C-1", "product": "Paint"})
    return service


@pytest.mark.parametrize("query,customer", [
    ("漏液", "上海明达涂料有限公司"),  # two Chinese characters, inside the content
    ("运输后漏液", "上海明达涂料有限公司"),  # five, as the trigram index reads them
    ("QS-77", "杭州青山电气"),  # contract number
    ("wo-5521", "杭州青山电气"),  # work number, any case
    ("李工", "杭州青山电气"),  # contact person
    ("8888 12", "杭州青山电气"),  # part of the phone number
    ("YE3-132", "杭州青山电气"),  # specification (model)
    ("三相电机", "杭州青山电气"),  # product
    ("明达", "上海明达涂料有限公司"),  # customer
    ("colour FADES", "Acme Paints 100%_off"),  # content, any case
    ("100%_", "Acme Paints 100%_off"),  # LIKE's wildcards are taken literally
])
def test_search_finds_complaints_by_any_searched_field(three, query, customer):
    page = text(three.get("/complaints/", query_string={"q": query}))
    found = [name for name in ("上海明达涂料有限公司", "杭州青山电气", "Acme Paints 100%_off") if name in page]
    assert found == [customer]


def test_search_by_complaint_number_and_nothing_found_says_so(three):
    every = numbers(three.get("/complaints/"))
    assert len(every) == 3
    assert numbers(three.get("/complaints/", query_string={"q": every[1]})) == [every[1]]
    page = text(three.get("/complaints/", query_string={"q": "没有这个词"}))
    assert numbers(three.get("/complaints/", query_string={"q": "没有这个词"})) == []
    assert "没有这个词" in page and "%_" not in page


def test_search_keeps_the_status_tab_and_the_tab_keeps_the_search(three):
    page = three.get("/complaints/", query_string={"q": "漏液", "status": "running"})
    assert len(numbers(page)) == 1
    assert numbers(three.get("/complaints/", query_string={"q": "漏液", "status": "completed"})) == []
    body = page.get_data(as_text=True)
    assert 'name="status" value="running"' in body  # the search form keeps the tab
    assert "export.xlsx?q=%E6%BC%8F%E6%B6%B2&amp;status=running" in body


def test_search_sees_edits_and_forgets_deleted_complaints(database, three, acme):
    """The SQLite FTS table follows the complaints through its triggers (PostgreSQL's index is the table's own)."""
    tamper(database, "UPDATE complaints SET content = '密封圈老化' WHERE content LIKE '%漏液%'")
    assert numbers(three.get("/complaints/", query_string={"q": "漏液"})) == []
    assert len(numbers(three.get("/complaints/", query_string={"q": "密封圈老化"}))) == 1
    assert len(numbers(three.get("/complaints/", query_string={"q": "密封圈"}))) == 1


def test_search_only_finds_the_company_own_complaints(three, rival, login, complaint_data):
    rival_service = login(rival.email("service"))
    assert numbers(rival_service.get("/complaints/", query_string={"q": "漏液"})) == []
    register_page(rival_service, {**complaint_data, "content": "运输后漏液"})
    assert len(numbers(rival_service.get("/complaints/", query_string={"q": "漏液"}))) == 1
    assert len(numbers(three.get("/complaints/", query_string={"q": "漏液"}))) == 1


def walk(browser, first: str) -> list[list[str]]:
    """Every page of the register from `first`, following the "Older" links."""
    pages, url = [], first
    while url:
        response = browser.get(html.unescape(url))
        assert response.status_code == 200
        pages.append(numbers(response))
        link = NEXT.search(response.get_data(as_text=True))
        url = link.group(1) if link else None
    return pages


def test_pages_follow_one_another_by_cursor_keeping_the_search(database, engine, acme, login, complaint_data):
    made = register_many(database, engine, acme, complaint_data, 53, content="批次{n} 漏液")
    register_many(database, engine, acme, complaint_data, 4, content="其他问题{n}")
    service = login(acme.email("service"))
    pages = walk(service, "/complaints/?q=%E6%BC%8F%E6%B6%B2&status=running")
    assert [len(p) for p in pages] == [50, 3]
    assert [n for p in pages for n in p] == made[::-1]  # newest first, each once


def test_rows_registered_while_paging_neither_repeat_nor_skip_rows(database, engine, acme, login, complaint_data):
    """Keyset paging: a page 2 asked for after new registrations continues where page 1 ended."""
    made = register_many(database, engine, acme, complaint_data, 52)
    service = login(acme.email("service"))
    first = service.get("/complaints/")
    following = NEXT.search(first.get_data(as_text=True)).group(1)
    register_many(database, engine, acme, complaint_data, 5)
    second = service.get(html.unescape(following))
    assert numbers(first) + numbers(second) == made[::-1]


def test_equal_registration_times_page_by_id(database, engine, acme, login, complaint_data):
    made = register_many(database, engine, acme, complaint_data, 55)
    tamper(database, sa.update(Complaint).values(registered_at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC)))
    pages = walk(login(acme.email("service")), "/complaints/")
    assert [n for p in pages for n in p] == made[::-1]


@pytest.mark.parametrize("cursor", ["garbage", "MjAyNi0xMy0wMXwx", "x" * 500, "MjAyNi0wMy0wMVQwMDowMHwx", "%00"])
def test_a_cursor_someone_edited_starts_from_the_top(three, cursor):
    response = three.get("/complaints/", query_string={"after": cursor})
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert len(numbers(response)) == 3


def test_page_2000_is_found_by_an_index_seek_not_an_offset(database, engine, acme, login, complaint_data):
    """The query behind "Older" carries the cursor in its WHERE clause and no OFFSET."""
    register_many(database, engine, acme, complaint_data, 51)
    service = login(acme.email("service"))
    statements = []

    def record(connection, cursor, statement, parameters, *args):
        statements.append((statement, parameters))

    sa.event.listen(database.engine, "before_cursor_execute", record)
    try:
        following = NEXT.search(service.get("/complaints/").get_data(as_text=True)).group(1)
        service.get(html.unescape(following))
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", record)
    [_first, older] = [(s, p) for s, p in statements if "ORDER BY complaints.registered_at DESC" in s]
    statement, parameters = older
    assert "(complaints.registered_at, complaints.id) <" in statement
    # SQLite's dialect always writes an OFFSET after a LIMIT: it is 0 here
    assert "OFFSET" not in statement or list(parameters.values() if isinstance(parameters, dict)
                                             else parameters)[-1] == 0


# -- export --------------------------------------------------------------------------------------------


def workbook(response):
    assert response.status_code == 200, text(response)
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return load_workbook(io.BytesIO(response.data))


def test_excel_export_holds_the_filtered_rows_in_the_qp0701_layout(database, three, acme):
    tamper(database, sa.update(Complaint).where(Complaint.content.contains("漏液"))
           .values(registered_at=datetime(2026, 3, 31, 17, 30, tzinfo=UTC)))  # UTC: already 1 April in Shanghai
    [number] = numbers(three.get("/complaints/", query_string={"q": "漏液"}))
    book = workbook(three.get("/complaints/export.xlsx", query_string={"q": "漏液", "status": "running"}))
    register_sheet, every = book.worksheets
    rows = list(register_sheet.iter_rows(values_only=True))
    assert rows[0][0].startswith("客户投诉一览表")
    assert rows[1] == ("NO", "日期", "客户名称", "投诉内容", "反映部门", "备注")
    assert len(rows) == 3
    assert rows[2][0] == number
    assert rows[2][1] == datetime(2026, 4, 1)  # the company's day
    assert rows[2][2:] == ("上海明达涂料有限公司", "运输后漏液，桶身变形。", "Customer Service", "退换货")
    assert register_sheet.cell(3, 2).number_format == "yyyy-mm-dd"
    columns = list(every.iter_rows(values_only=True))
    assert columns[0][:4] == ("编号", "登记时间", "客户", "联系人")
    assert len(columns) == 2
    assert columns[1][0] == number
    assert columns[1][1] == datetime(2026, 4, 1, 1, 30)  # 17:30 UTC on the company's clock
    assert "HT-2026-0311" in columns[1] and "Service" in columns[1]


def test_excel_export_of_everything_and_in_traditional_chinese(three, acme):
    three.post("/language/zh_Hant", {"next": "/complaints/"}, token_from="/complaints/")
    book = workbook(three.get("/complaints/export.xlsx"))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[1] == ("NO", "日期", "客戶名稱", "投訴內容", "反映部門", "備註")
    assert len(rows) == 2 + 3
    assert [r[0] for r in rows[2:]] == numbers(three.get("/complaints/"))  # newest first, like the register


def test_text_that_looks_like_a_formula_is_exported_as_text(three, complaint_data):
    register_page(three, {**complaint_data, "customer_name": "=HYPERLINK(\"http://evil.example\")",
                          "content": "+1 投诉"})
    book = workbook(three.get("/complaints/export.xlsx", query_string={"q": "投诉"}))
    cell = book.worksheets[0].cell(3, 3)
    assert cell.value == "=HYPERLINK(\"http://evil.example\")" and cell.data_type == "s"
    lines = list(csv.reader(io.StringIO(three.get("/complaints/export.csv",
                                                  query_string={"q": "投诉"}).data.decode("utf-8-sig"))))
    assert lines[1][2] == "'=HYPERLINK(\"http://evil.example\")"


def test_csv_export_holds_every_column_of_the_filtered_rows(three):
    response = three.get("/complaints/export.csv", query_string={"q": "QS-77"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert lines[0][:3] == ["编号", "登记时间", "客户"]
    assert len(lines) == 2
    assert lines[1][2:5] == ["杭州青山电气", "李工", "0571-8888 1234"]
    assert "WO-5521" in lines[1] and "YE3-132M" in lines[1]


def test_export_above_the_maximum_asks_to_narrow_the_filters(app, three, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_MAX_ROWS", 2)
    for path in ("/complaints/export.xlsx", "/complaints/export.csv"):
        response = three.get(path, query_string={"status": "running"})
        assert response.status_code == 303
        assert response.headers["Location"] == "/complaints/?status=running"
        page = text(three.get(response.headers["Location"]))
        assert "缩小" in page  # narrow the search
    assert three.get("/complaints/export.xlsx", query_string={"q": "漏液"}).status_code == 200  # 1 row: fine


def test_export_only_holds_the_company_own_complaints(three, rival, login, complaint_data):
    rival_service = login(rival.email("service"))
    register_page(rival_service, {**complaint_data, "customer_name": "Rival 的客户"})
    rows = list(workbook(rival_service.get("/complaints/export.xlsx")).worksheets[0].iter_rows(values_only=True))
    assert [r[2] for r in rows[2:]] == ["Rival 的客户"]
    data = rival_service.get("/complaints/export.csv").data.decode("utf-8-sig")
    assert "Rival 的客户" in data and "明达" not in data and "青山" not in data


def test_register_page_offers_search_and_both_exports(three):
    page = three.get("/complaints/").get_data(as_text=True)
    assert 'name="q"' in page and "/complaints/export.xlsx" in page and "/complaints/export.csv" in page


def test_export_dates_follow_the_company_time_zone(database, three, acme):
    tamper(database, "UPDATE companies SET timezone = 'Europe/Berlin' WHERE id = :id", id=acme.id)
    tamper(database, sa.update(Complaint).values(registered_at=datetime(2026, 7, 1, 22, 30, tzinfo=UTC)))
    rows = list(workbook(three.get("/complaints/export.xlsx")).worksheets[1].iter_rows(values_only=True))
    assert {r[1] for r in rows[1:]} == {datetime(2026, 7, 2, 0, 30)}
    assert ZoneInfo("Europe/Berlin").utcoffset(datetime(2026, 7, 1)) == timedelta(hours=2)
