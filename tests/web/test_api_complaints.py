"""The register through the JSON API: GET /api/v1/complaints (the page's search, status tabs, "mine" and keyset
pages) and GET /api/v1/complaints/export (the page's Excel and CSV files), for a program holding a user's token."""
from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from complaints.models import Complaint
from complaints.registration import register
from conftest import tamper
from engine.records import Instance, ProcessVersion

CUSTOMERS = ("上海明达涂料有限公司", "杭州青山电气", "Acme Paints")


def register_many(database, engine, company, complaint_data, count: int, who: str = "service", **changes):
    """`count` complaints registered through the domain: their numbers, oldest first."""
    made = []
    with database.session() as s:
        version = s.get(ProcessVersion, company.version.id)
        for n in range(count):
            values = {**complaint_data, **{k: v.format(n=n) for k, v in changes.items()}}
            made.append(register(s, engine, version, company.actor(who), values, company.timezone).number)
    return made


@pytest.fixture()
def three(database, engine, acme, complaint_data):
    """Three complaints differing in every searched field, registered by customer service."""
    register_many(database, engine, acme, complaint_data, 1, customer_name=CUSTOMERS[0],
                  content="运输后漏液，桶身变形。", contract_number="HT-2026-0311")
    register_many(database, engine, acme, complaint_data, 1, customer_name=CUSTOMERS[1], contact_person="李工",
                  contact="0571-8888 1234", content="电机异响", contract_number="QS-77", work_number="WO-5521",
                  specification="YE3-132M", product="三相电机")
    register_many(database, engine, acme, complaint_data, 1, customer_name=CUSTOMERS[2], content="Colour fades",
                  contract_number="C-1", product="Paint")


def close(database, customer: str, closure: str | None, status: str = "completed") -> None:
    """The customer's complaint as its case ended (or stopped): its case's status and how it closed."""
    ids = sa.select(Complaint.instance_id).where(Complaint.customer_name == customer).scalar_subquery()
    tamper(database, sa.update(Instance).where(Instance.id == ids).values(status=status))
    tamper(database, sa.update(Complaint).where(Complaint.customer_name == customer).values(closure=closure))


def listed(client, **query) -> list[str]:
    response = client.get("/complaints?" + "&".join(f"{k}={v}" for k, v in query.items()))
    assert response.status_code == 200, response.get_json()
    return [item["customer_name"] for item in response.get_json()["items"]]


@pytest.mark.parametrize("query,customer", [
    ("%E6%BC%8F%E6%B6%B2", CUSTOMERS[0]),  # 漏液: two Chinese characters inside the content
    ("QS-77", CUSTOMERS[1]),  # contract number
    ("wo-5521", CUSTOMERS[1]),  # work number, any case
    ("8888%2012", CUSTOMERS[1]),  # part of the phone number
    ("colour%20FADES", CUSTOMERS[2]),
])
def test_search_finds_complaints_by_any_searched_field(three, acme, api, query, customer):
    assert listed(api(acme.email("service")), q=query) == [customer]


def test_an_item_carries_every_column_the_register_has(three, acme, api, database):
    response = api(acme.email("auditor")).get("/complaints?q=QS-77")  # auditors read the register too
    [item] = response.get_json()["items"]
    with database.session() as s:
        complaint = s.scalars(sa.select(Complaint).where(Complaint.contract_number == "QS-77")).one()
        number, instance_id, registered_at = complaint.number, complaint.instance_id, complaint.registered_at
    assert item == {
        "id": instance_id, "number": number, "registered": registered_at.isoformat(), "customer_name": CUSTOMERS[1],
        "contact_person": "李工", "contact": "0571-8888 1234", "channel": "phone", "category": "product_quality",
        "product": "三相电机", "specification": "YE3-132M", "contract_number": "QS-77", "work_number": "WO-5521",
        "content": "电机异响", "customer_request": "退换货", "status": "running",
        "first_receiver_id": acme.actor("service").user_id}
    assert item["registered"].endswith("+00:00")  # UTC
    assert response.get_json()["next_cursor"] is None


def test_status_tells_closures_apart(three, acme, api, database):
    close(database, CUSTOMERS[0], "invalid")
    close(database, CUSTOMERS[1], "abnormal")
    close(database, CUSTOMERS[2], None, status="error")
    service = api(acme.email("service"))
    assert listed(service, status="invalid") == [CUSTOMERS[0]]
    assert listed(service, status="abnormal") == [CUSTOMERS[1]]
    assert listed(service, status="error") == [CUSTOMERS[2]]
    assert listed(service, status="running") == [] and listed(service, status="completed") == []
    close(database, CUSTOMERS[2], "normal")
    assert listed(service, status="completed") == [CUSTOMERS[2]]
    statuses = {i["customer_name"]: i["status"] for i in service.get("/complaints").get_json()["items"]}
    assert statuses == {CUSTOMERS[0]: "invalid", CUSTOMERS[1]: "abnormal", CUSTOMERS[2]: "completed"}


def test_mine_lists_what_i_received_first(database, engine, acme, api, complaint_data):
    register_many(database, engine, acme, complaint_data, 1, who="service", customer_name="由客服登记")
    register_many(database, engine, acme, complaint_data, 1, who="owner", customer_name="由负责人登记")
    assert listed(api(acme.email("owner")), mine="true") == ["由负责人登记"]
    assert sorted(listed(api(acme.email("owner")), mine="false")) == ["由客服登记", "由负责人登记"]


def test_paging_with_next_cursor_lists_every_complaint_once(database, engine, acme, api, complaint_data):
    made = register_many(database, engine, acme, complaint_data, 23, content="批次{n} 漏液")
    register_many(database, engine, acme, complaint_data, 3, content="其他问题{n}")
    service = api(acme.email("service"))
    seen, sizes, cursor = [], [], None
    while True:
        body = service.get("/complaints?q=%E6%BC%8F%E6%B6%B2&status=running&limit=10"
                           + (f"&cursor={cursor}" if cursor else "")).get_json()
        seen += [item["number"] for item in body["items"]]
        sizes.append(len(body["items"]))
        cursor = body["next_cursor"]
        if cursor is None:
            break
        if len(sizes) == 2:  # registered while paging: neither repeated nor skipping a row
            register_many(database, engine, acme, complaint_data, 2, content="新的 漏液{n}")
    assert sizes == [10, 10, 3]
    assert seen == made[::-1]  # newest first, no repeats, no gaps


def test_the_default_page_holds_50(database, engine, acme, api, complaint_data):
    register_many(database, engine, acme, complaint_data, 52)
    body = api(acme.email("service")).get("/complaints").get_json()
    assert len(body["items"]) == 50 and body["next_cursor"]
    assert len(api(acme.email("service")).get(f"/complaints?cursor={body['next_cursor']}").get_json()["items"]) == 2


@pytest.mark.parametrize("query,field", [
    ("status=closed", "status"), ("limit=0", "limit"), ("limit=201", "limit"), ("limit=ten", "limit"),
    ("cursor=garbage", "cursor"), ("cursor=MjAyNi0xMy0wMXwx", "cursor"), ("mine=perhaps", "mine"),
])
def test_a_bad_query_is_400_invalid_query_naming_the_field(three, acme, api, query, field):
    response = api(acme.email("service")).get(f"/complaints?{query}&q=QS-77")
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == "invalid_query" and body["params"] == {"fields": field}
    assert list(body["errors"]) == [field]


def test_a_bad_query_is_explained_in_chinese(three, acme, api, app):
    client = api(acme.email("service"))
    response = client.client.get("/api/v1/complaints?status=closed", headers={**client.headers,
                                                                               "Accept-Language": "zh-Hans"})
    assert response.get_json()["errors"]["status"] == "必须是 running、completed、invalid、abnormal 或 error"


def test_export_xlsx_is_the_register_page_workbook(three, acme, api, login):
    client = api(acme.email("service"))
    response = client.client.get("/api/v1/complaints/export?format=xlsx&q=QS-77",
                                 headers={**client.headers, "Accept-Language": "zh-Hans"})  # the page's language
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    qp0701, every = load_workbook(io.BytesIO(response.data)).worksheets
    rows = list(qp0701.iter_rows(values_only=True))
    assert rows[1] == ("NO", "日期", "客户名称", "投诉内容", "反映部门", "备注")
    assert [r[2] for r in rows[2:]] == [CUSTOMERS[1]]
    page = load_workbook(io.BytesIO(login(acme.email("service")).get("/complaints/export.xlsx?q=QS-77").data))
    assert [list(s.iter_rows(values_only=True))[1:] for s in page.worksheets] == \
        [list(s.iter_rows(values_only=True))[1:] for s in (qp0701, every)]  # the same file (its title aside)


def test_export_defaults_to_xlsx_of_everything(three, acme, api):
    response = api(acme.email("service")).get("/complaints/export")
    rows = list(load_workbook(io.BytesIO(response.data)).worksheets[0].iter_rows(values_only=True))
    assert rows[1] == ("NO", "Date", "Customer name", "Complaint content", "Reporting department", "Remarks")
    assert len(rows) == 2 + 3


def test_export_csv_holds_the_filtered_rows(three, acme, api, database):
    close(database, CUSTOMERS[0], "invalid")
    response = api(acme.email("service")).get("/complaints/export?format=csv&status=invalid")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert lines[0][:3] == ["Number", "Registered", "Customer"]
    assert [line[2] for line in lines[1:]] == [CUSTOMERS[0]]
    assert "Closed as invalid" in lines[1]


def test_export_above_the_maximum_is_422_asking_to_narrow(app, three, acme, api, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_MAX_ROWS", 2)
    client = api(acme.email("service"))
    for kind in ("xlsx", "csv"):
        response = client.get(f"/complaints/export?format={kind}")
        assert response.status_code == 422
        assert response.get_json()["code"] == "too_many_to_export"
        assert response.get_json()["params"] == {"limit": 2}
    assert client.get("/complaints/export?format=csv&q=QS-77").status_code == 200  # one row: fine


@pytest.mark.parametrize("query,field", [("format=pdf", "format"), ("status=closed", "status")])
def test_a_bad_export_query_is_400_naming_the_field(three, acme, api, query, field):
    response = api(acme.email("service")).get(f"/complaints/export?{query}")
    assert response.status_code == 400 and response.get_json()["params"] == {"fields": field}


def test_a_rival_lists_and_exports_only_its_own_complaints(three, acme, rival, api, database, engine, complaint_data):
    register_many(database, engine, rival, complaint_data, 1, customer_name="Rival 的客户")
    client = api(rival.email("service"))
    assert listed(client) == ["Rival 的客户"]
    assert listed(client, q="QS-77") == []
    data = client.get("/complaints/export?format=csv").data.decode("utf-8-sig")
    assert "Rival 的客户" in data and "明达" not in data and "青山" not in data
    acme_cursor = api(acme.email("service")).get("/complaints?limit=1").get_json()["next_cursor"]
    assert not set(listed(client, cursor=acme_cursor)) & set(CUSTOMERS)  # acme's cursor opens nothing of acme's


def test_without_a_token_it_is_401(app):
    for path in ("/api/v1/complaints", "/api/v1/complaints/export"):
        assert app.test_client().get(path).get_json()["code"] == "bad_token"
