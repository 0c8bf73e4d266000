"""An auditor on one complaint: verify its hash chain, re-run it, and export its evidence pack."""
from __future__ import annotations

import html
import re
from itertools import pairwise

import sqlalchemy as sa

from conftest import tamper
from db import utcnow
from engine.records import Event


def registered(acme, api, complaint_data) -> int:
    service = api(acme.email("service"))
    case = service.post("/processes/complaint_standard/instances", {"data": complaint_data}).get_json()
    service.post(f"/tasks/{case['tasks'][0]['id']}/complete", {"data": {"valid": True}})
    return case["id"]


def alter_first_submission(database, case: int) -> None:
    """Rewrite a recorded event in place, as someone with database access might (past PostgreSQL's trigger)."""
    with database.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        connection.execute(sa.update(Event).where(Event.instance_id == case, Event.type == "task_completed")
                           .values(data={"submitted": {"valid": False}, "changes": {}}))


def flashes_after(browser, path: str, case: int) -> str:
    page = browser.post(path, token_from=f"/complaints/{case}", follow_redirects=True)
    return html.unescape(page.get_data(as_text=True))


def test_auditor_verifies_an_intact_history_then_sees_the_altered_event_named(database, acme, api, login,
                                                                                complaint_data):
    case = registered(acme, api, complaint_data)
    auditor = login(acme.email("auditor"))
    assert "flash-success" in flashes_after(auditor, f"/complaints/{case}/verify", case)
    alter_first_submission(database, case)
    page = flashes_after(auditor, f"/complaints/{case}/verify", case)
    [message] = re.findall(r'class="flash flash-error"[^>]*>([^<]*)<', page)
    assert re.search(r"\b2\b", message)  # the completion, event 2, is named


def cut_after_checkpoint(database, engine, case: int) -> int:
    """Anchor the case, then delete all its events but the first and move its head and count back, behind the app's
    back; returns how many events it had."""
    with database.session() as s:
        seals = s.scalars(sa.select(Event.hash).where(Event.instance_id == case).order_by(Event.seq)).all()
    engine.auditor.checkpoint(database.sessionmaker, utcnow())
    tamper(database, "DELETE FROM events WHERE instance_id = :i AND seq > 1",
           "UPDATE instances SET event_count = 1, event_head = :head WHERE id = :i", i=case, head=seals[0])
    return len(seals)


def errors_after_verify(auditor, case: int) -> list[str]:
    return re.findall(r'class="flash flash-error"[^>]*>([^<]*)<', flashes_after(auditor, f"/complaints/{case}/verify",
                                                                                 case))


def test_verify_names_the_events_removed_since_the_checkpoint_and_then_the_damaged_anchor(
        database, engine, acme, api, login, complaint_data):
    case = registered(acme, api, complaint_data)
    events = cut_after_checkpoint(database, engine, case)
    auditor = login(acme.email("auditor"))
    [message] = errors_after_verify(auditor, case)
    assert f"2–{events}" in message  # the events the anchor proves were there
    engine.auditor.anchor.path.write_bytes(b"")  # the anchor's only line removed too: the cut cannot be proven,
    [damage] = errors_after_verify(auditor, case)  # but the line the database says was written is missed
    assert f"2–{events}" not in damage and re.search(r"\b1\b", damage)


def test_evidence_pack_carries_the_seal_kind_and_the_checkpoint_a_truncation_is_proven_by(
        database, engine, acme, api, login, complaint_data):
    case = registered(acme, api, complaint_data)
    events = cut_after_checkpoint(database, engine, case)
    chain = login(acme.email("auditor")).get(f"/complaints/{case}/evidence.json").get_json()["chain"]
    assert (chain["seal"], chain["problem"], chain["broken_at"], chain["anchored"]["events"]) == (
        "HMAC-SHA-256", "truncated", 2, events)


def test_auditor_reruns_a_complaint_and_a_tampered_one_diverges(database, acme, api, login, complaint_data):
    case = registered(acme, api, complaint_data)
    auditor = login(acme.email("auditor"))
    assert "flash-success" in flashes_after(auditor, f"/complaints/{case}/rerun", case)
    alter_first_submission(database, case)
    assert "flash-error" in flashes_after(auditor, f"/complaints/{case}/rerun", case)


def test_evidence_pack_holds_the_fields_every_sealed_event_and_the_diagram(acme, api, login, complaint_data):
    case = registered(acme, api, complaint_data)
    auditor = login(acme.email("auditor"))
    pack = auditor.get(f"/complaints/{case}/evidence.json").get_json()
    assert pack["complaint"]["customer_name"] == complaint_data["customer_name"]
    assert pack["chain"]["intact"] is True
    assert [e["seq"] for e in pack["events"]] == list(range(1, pack["case"]["events"] + 1))
    assert pack["events"][-1]["hash"] == pack["case"]["chain_head"]
    assert all(e["prev_hash"] == p["hash"] for p, e in pairwise(pack["events"]))
    [diagram] = pack["diagrams"]
    assert diagram["version"] == 1 and "<bpmn:definitions" in diagram["bpmn"]
    assert [t["key"] for t in diagram["decision_tables"]] == ["grading"]
    page = auditor.get(f"/complaints/{case}/evidence")
    assert page.status_code == 200 and pack["case"]["chain_head"] in page.get_data(as_text=True)


def test_evidence_pack_prints_to_a_pdf_with_the_complaint_and_its_chain_head(acme, api, login, complaint_data):
    case = registered(acme, api, complaint_data)
    auditor = login(acme.email("auditor"))
    response = auditor.get(f"/complaints/{case}/evidence.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    number = auditor.get(f"/complaints/{case}/evidence.json").get_json()["complaint"]["number"]
    assert response.headers["Content-Disposition"] == f'attachment; filename="evidence-{number}.pdf"'
    pdf = response.get_data()
    assert pdf.startswith(b"%PDF-") and b"/Type /Page" in pdf


def test_evidence_pdf_without_chromium_sends_the_auditor_to_the_printable_page(
        app, monkeypatch, acme, api, login, complaint_data):
    case = registered(acme, api, complaint_data)
    monkeypatch.setitem(app.config, "CHROMIUM", "/nonexistent/chromium")
    auditor = login(acme.email("auditor"))
    response = auditor.get(f"/complaints/{case}/evidence.pdf")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/complaints/{case}/evidence")
    assert "flash-error" in auditor.get(f"/complaints/{case}/evidence").get_data(as_text=True)
