"""What a process owner may publish: bad diagrams are refused with problems that point at the element,
nothing is published, and published versions are immutable and numbered per company and process.
"""
from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import sqlalchemy as sa

from complaints.registration import register
from engine import queries
from engine.formdata import FormError
from engine.publishing import latest_version, publish
from engine.records import InboxTask, Instance, ProcessVersion
from engine.validation import check_diagram
from engine.xmlload import MAX_DIAGRAM_BYTES, DiagramError

ROOT = Path(__file__).resolve().parents[2]
DIAGRAMS = Path(__file__).parent / "diagrams"
STANDARD = (ROOT / "processes" / "complaint_standard.bpmn").read_text(encoding="utf-8")
GROUPS = ("Customer Service", "Handling Department", "Quality", "Management")


def scripted(script: str = "total = amount * 2", condition: str = "total > 100") -> str:
    text = (DIAGRAMS / "script_and_gateway.bpmn").read_text(encoding="utf-8")
    return text.replace("SCRIPT", escape(script)).replace("CONDITION", escape(condition))


def changed(text: str, old: str, new: str) -> bytes:
    """`text` with one exact piece replaced; fails loudly if the piece is not there."""
    assert old in text, old
    return text.replace(old, new).encode("utf-8")


SCRIPTED = scripted()

# id: (diagram bytes, element the problem must name (None: the whole file), words the message must contain)
BAD_DIAGRAMS = {
    "malformed": (STANDARD[: len(STANDARD) // 2].encode(), None, "not well-formed XML"),
    "not-bpmn": (b'<?xml version="1.0"?><html><body>hello</body></html>', None, "not a BPMN 2.0 file"),
    "empty": (b"", None, "not well-formed XML"),
    "not-utf8": (SCRIPTED.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"), None, "UTF-8"),
    "xxe": ((DIAGRAMS / "xxe.bpmn").read_bytes(), None, "DOCTYPE"),
    "billion-laughs": ((DIAGRAMS / "billion_laughs.bpmn").read_bytes(), None, "entit"),
    "oversized": (changed(STANDARD, "<bpmn:collaboration", "<!-- " + "x" * MAX_DIAGRAM_BYTES + " -->\n"
                          "<bpmn:collaboration"), None, "larger than"),
    "no-executable-process": (changed(SCRIPTED, 'isExecutable="true"', 'isExecutable="false"'), None,
                              "exactly one executable process"),
    "two-executable-processes": (changed(SCRIPTED, "</bpmn:definitions>",
                                         '<bpmn:process id="other" isExecutable="true"><bpmn:startEvent id="s2"/>'
                                         "</bpmn:process></bpmn:definitions>"), None, "found 2"),
    "duplicate-id": (changed(SCRIPTED, 'id="review_small"', 'id="review_big"'), "review_big",
                     "more than one element"),
    "field-named-like-element": (changed(SCRIPTED, 'formField id="amount"', 'formField id="review_big"'),
                                 "prepare", "has the id of a diagram element"),
    "unsupported-element": (changed(SCRIPTED.replace("</bpmn:exclusiveGateway>", "</bpmn:complexGateway>"),
                                    '<bpmn:exclusiveGateway id="gw_big"', '<bpmn:complexGateway id="gw_big"'),
                            "gw_big", "support"),
    "camunda-style-condition": (changed(SCRIPTED, "total &gt; 100", "${approved}"), "flow_big",
                                "Python: write approved"),
    "camunda-hash-condition": (changed(SCRIPTED, "total &gt; 100", "#{total &gt; 100}"), "flow_big",
                               "Python: write total > 100"),
    "python-syntax-error": (changed(SCRIPTED, "total &gt; 100", "total &gt;"), "flow_big", "SyntaxError"),
    "empty-condition": (changed(SCRIPTED, "total &gt; 100", " "), "flow_big", "empty"),
    "bad-timer-expression": (changed((DIAGRAMS / "timers.bpmn").read_text(encoding="utf-8")
                                     .replace("PAUSE_TIMER", "PT1H"), "HANDLE_TIMER", "${P1D}"),
                             "handle_overdue", "timer"),
    "offered-to-nobody": (changed(SCRIPTED, ' camunda:candidateGroups="Management"', ""), "review_big",
                          "offered to nobody"),
    "unknown-candidate-group": (changed(SCRIPTED, 'candidateGroups="Management"', 'candidateGroups="Legal"'),
                                "review_big", "no group of this company is called Legal"),
    "unsupported-field-type": (changed(SCRIPTED, 'type="long"', 'type="money"'), "prepare", "unsupported type"),
}


def published(database) -> list[tuple]:
    """Every published version, whole, to show nothing was added or touched."""
    with database.session() as s:
        return [tuple(row) for row in s.execute(sa.select(
            ProcessVersion.id, ProcessVersion.company_id, ProcessVersion.process_key, ProcessVersion.version,
            ProcessVersion.content_hash, ProcessVersion.bpmn_xml).order_by(ProcessVersion.id))]


def publish_as_owner(database, company, xml: bytes) -> ProcessVersion:
    with database.session() as s:
        return publish(s, company.id, xml, company.users["owner"].id, "note", GROUPS)


@pytest.mark.parametrize("xml, element, words", list(BAD_DIAGRAMS.values()), ids=list(BAD_DIAGRAMS))
def test_bad_diagram_is_refused_naming_the_problem_and_nothing_is_published(database, acme, xml, element, words):
    before = published(database)
    with pytest.raises(DiagramError) as refused:
        publish_as_owner(database, acme, xml)
    problems = refused.value.problems
    assert problems and all(message.strip() for _, message in problems)
    assert any(found == element and words in message for found, message in problems), problems
    assert "root:" not in str(refused.value)  # nothing of /etc/passwd leaks into the message
    assert published(database) == before


def test_lane_naming_no_group_of_the_company_is_refused_for_each_task_in_it(database, acme):
    before = published(database)
    xml = changed(STANDARD, '<bpmn:lane id="lane_quality" name="Quality">', '<bpmn:lane id="lane_quality" name="QA">')
    with pytest.raises(DiagramError) as refused:
        publish_as_owner(database, acme, xml)
    assert sorted(refused.value.problems) == [
        (task, "no group of this company is called QA")
        for task in sorted(["grade_complaint", "assign", "approve_quality", "verify"])]
    assert published(database) == before


def test_every_problem_of_a_diagram_is_listed_together():
    xml = changed(scripted("x = __import__('os')", "${total > 100}"), ' camunda:candidateGroups="Quality"', "")
    with pytest.raises(DiagramError) as refused:
        check_diagram(xml, GROUPS)
    assert {element for element, _ in refused.value.problems} == {"compute", "flow_big"}


def test_check_without_groups_accepts_any_group_name():
    compiled = check_diagram(changed(SCRIPTED, 'candidateGroups="Management"', 'candidateGroups="Legal"'))
    assert compiled.tasks["review_big"].offered_groups == ("Legal",)


# -- versions --------------------------------------------------------------------------------------------------

def test_publishing_identical_content_again_returns_the_same_version(database, acme):
    before = published(database)
    again = publish_as_owner(database, acme, STANDARD.encode("utf-8"))
    assert (again.id, again.version) == (acme.version.id, 1)
    assert published(database) == before


def test_changed_content_becomes_the_next_version_and_leaves_the_previous_one_alone(database, acme, rival):
    before = published(database)
    v2 = publish_as_owner(database, acme, changed(STANDARD, 'name="Check validity"', 'name="Check the complaint"'))
    assert (v2.process_key, v2.version) == ("complaint_standard", 2)
    assert published(database) == before + [(v2.id, acme.id, "complaint_standard", 2, v2.content_hash, v2.bpmn_xml)]
    with database.session() as s:
        assert latest_version(s, acme.id, "complaint_standard").id == v2.id
        assert latest_version(s, rival.id, "complaint_standard").version == 1
    v3 = publish_as_owner(database, acme, changed(STANDARD, 'name="Check validity"', 'name="Validity"'))
    assert v3.version == 3


def test_instance_started_on_v1_keeps_running_on_v1_after_v2(database, engine, acme, complaint_data):
    with database.session() as s:
        v1 = s.get(ProcessVersion, acme.version.id)
        old_id = register(s, engine, v1, acme.actor("service"), complaint_data, acme.timezone).instance_id
    # v2 makes the validity check ask one more required question
    extra = ('<camunda:formField id="source_checked" label="Source checked" type="boolean">'
             '<camunda:validation><camunda:constraint name="required" /></camunda:validation></camunda:formField>\n'
             '          <camunda:formField id="validity_note"')
    v2 = publish_as_owner(database, acme, changed(STANDARD, '<camunda:formField id="validity_note"', extra))
    assert v2.version == 2
    with database.session() as s:
        new_id = register(s, engine, latest_version(s, acme.id, "complaint_standard"), acme.actor("service"),
                          complaint_data, acme.timezone).instance_id

    def check_validity_task(instance_id: int) -> str:
        with database.session() as s:
            return s.scalar(sa.select(InboxTask.id).where(InboxTask.instance_id == instance_id))

    with pytest.raises(FormError) as refused:
        with database.session() as s:
            engine.complete(s, check_validity_task(new_id), acme.actor("service"), {"valid": True})
    assert set(refused.value.errors) == {"source_checked"}

    with database.session() as s:
        engine.complete(s, check_validity_task(old_id), acme.actor("service"), {"valid": True})
    with database.session() as s:
        old = queries.instance_view(s, engine, s.get(Instance, old_id))
        assert (old.version, old.version_id) == (1, acme.version.id)
        assert [t.element_id for t in old.tasks] == ["grade_complaint"]
        assert "source_checked" not in old.data
