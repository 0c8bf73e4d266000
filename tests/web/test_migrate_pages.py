"""Moving running complaints to a newer version from the Procedures pages: dry run, then one by one."""
from __future__ import annotations

import html
import re

from conftest import GROUPS, STANDARD
from engine.records import Instance
from engine.repository.publishing import publish

RENAMED = STANDARD.read_bytes().replace(b'name="Check validity"', b'name="Check validity (v2)"')


def automated_validity_check() -> bytes:
    """The standard procedure with its open first task turned into a script: a case waiting there cannot move."""
    xml = STANDARD.read_text(encoding="utf-8")
    task = re.search(r'<bpmn:userTask id="check_validity".*?</bpmn:userTask>', xml, re.S).group(0)
    flows = "".join(re.findall(r"<bpmn:(?:incoming|outgoing)>[^<]+</bpmn:(?:incoming|outgoing)>", task))
    script = (f'<bpmn:scriptTask id="check_validity" name="Check validity" scriptFormat="python">{flows}'
              "<bpmn:script>valid = True</bpmn:script></bpmn:scriptTask>")
    return xml.replace(task, script).encode("utf-8")


def publish_as_owner(database, acme, xml: bytes) -> None:
    with database.session() as s:
        publish(s, acme.id, xml, acme.users["owner"].id, "v2", GROUPS)


def start_case(acme, api, complaint_data) -> int:
    return api(acme.email("service")).post("/processes/complaint_standard/instances",
                                          {"data": complaint_data}).get_json()["id"]


def version_of(database, instance_id: int) -> int:
    with database.session() as s:
        return s.get(Instance, instance_id).version.version


def test_owner_moves_a_running_complaint_and_its_task_follows(database, acme, api, login, complaint_data):
    case = start_case(acme, api, complaint_data)
    publish_as_owner(database, acme, RENAMED)
    owner = login(acme.email("owner"))
    procedures = html.unescape(owner.get("/procedures/").get_data(as_text=True))
    assert "/procedures/complaint_standard/migrate?to=2" in procedures
    dry_run = owner.get("/procedures/complaint_standard/migrate").get_data(as_text=True)
    assert f'value="{case}" aria-label' in dry_run and "checked" in dry_run
    assert version_of(database, case) == 1  # the dry run moved nothing
    page = owner.post("/procedures/complaint_standard/migrate?to=2", {"instance": str(case)},
                      token_from="/procedures/complaint_standard/migrate").get_data(as_text=True)
    assert 'class="moved"' in page
    assert version_of(database, case) == 2
    assert [t["name"] for t in api(acme.email("service")).get("/tasks").get_json()] == ["Check validity (v2)"]
    history = [e["type"] for e in api(acme.email("service")).get(f"/instances/{case}/events").get_json()]
    assert history[-1] == "instance_migrated"


def test_a_complaint_that_cannot_move_says_why_and_stays(database, acme, api, login, complaint_data):
    case = start_case(acme, api, complaint_data)
    publish_as_owner(database, acme, automated_validity_check())
    owner = login(acme.email("owner"))
    dry_run = html.unescape(owner.get("/procedures/complaint_standard/migrate").get_data(as_text=True))
    assert "(check_validity)" in dry_run and f'value="{case}" aria-label="202' in dry_run and "disabled" in dry_run
    page = owner.post("/procedures/complaint_standard/migrate", {"instance": str(case)},
                      token_from="/procedures/complaint_standard/migrate").get_data(as_text=True)
    assert 'class="error"' in page
    assert version_of(database, case) == 1


def test_employees_cannot_move_complaints(database, acme, login):
    publish_as_owner(database, acme, RENAMED)
    assert login(acme.email("service")).get("/procedures/complaint_standard/migrate").status_code == 403
