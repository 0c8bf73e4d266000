"""What a process owner may publish: bad diagrams are refused with problems that point at the element,
nothing is published, and published versions are immutable and numbered per company and process; Kesu's
lint rules (reachable tasks, decided gateways, paths that end, typed fields, supported elements).
"""
from __future__ import annotations

from xml.sax.saxutils import escape

import pytest
import sqlalchemy as sa
from lxml import etree

from complaints.registration import register
from conftest import DIAGRAMS, GROUPS, ROOT
from engine import queries
from engine.records import InboxTask, Instance, ProcessVersion
from engine.repository.publishing import latest_version, publish
from engine.repository.validation import check_diagram
from engine.repository.xmlload import MAX_DIAGRAM_BYTES, DiagramError
from engine.runtime.formdata import FormError

STANDARD = (ROOT / "processes" / "complaint_standard.bpmn").read_text(encoding="utf-8")


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


# -- lint rules -----------------------------------------------------------------------------------------------
# Each diagram below breaks exactly one rule; the test asserts the whole problem list, so a rule that also
# fires elsewhere (or twice on one element) fails it.

NESTED = (DIAGRAMS / "subprocess_and_events.bpmn").read_text(encoding="utf-8")
TIMERS = (DIAGRAMS / "timers.bpmn").read_text(encoding="utf-8").replace("HANDLE_TIMER", "P1D").replace(
    "PAUSE_TIMER", "PT1H")


def problems_of(xml: bytes) -> list[tuple]:
    """Everything check_diagram refuses `xml` for, in its order."""
    with pytest.raises(DiagramError) as refused:
        check_diagram(xml, GROUPS)
    return refused.value.problems


def retagged(text: str, element_id: str, tag: str) -> bytes:
    """`text` with one element turned into another BPMN element type, keeping its id, attributes and flows."""
    root = etree.fromstring(text.encode("utf-8"))
    element = root.find(f".//*[@id='{element_id}']")
    element.tag = f"{{http://www.omg.org/spec/BPMN/20100524/MODEL}}{tag}"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def with_process_element(text: str, xml: str) -> bytes:
    return changed(text, "  </bpmn:process>", f"{xml}\n  </bpmn:process>")


def test_standard_procedure_passes_every_check_with_zero_problems():
    assert check_diagram(STANDARD.encode("utf-8"), GROUPS).key == "complaint_standard"


def test_subprocess_boundary_paths_and_event_subprocesses_are_followed_by_the_flow_rules():
    assert set(check_diagram(NESTED.encode("utf-8"), GROUPS).tasks) == {"handle", "notify", "remind"}


def test_loop_left_only_through_a_boundary_timer_has_a_way_out():
    looping = changed(TIMERS, 'sourceRef="follow_up" targetRef="end_done"', 'sourceRef="follow_up" targetRef="handle"')
    assert check_diagram(looping, GROUPS).key == "timers"


@pytest.mark.parametrize("xml, task", [
    (with_process_element(SCRIPTED, '<bpmn:userTask id="orphan" camunda:candidateGroups="Quality">'
                                    '<bpmn:outgoing>flow_orphan_end</bpmn:outgoing></bpmn:userTask>'
                                    '<bpmn:sequenceFlow id="flow_orphan_end" sourceRef="orphan" targetRef="end_big"/>'),
     "orphan"),
    (changed(NESTED, '<bpmn:endEvent id="handling_end">',
             '<bpmn:userTask id="forgotten" camunda:candidateGroups="Quality"><bpmn:outgoing>flow_forgotten_end'
             '</bpmn:outgoing></bpmn:userTask><bpmn:sequenceFlow id="flow_forgotten_end" sourceRef="forgotten" '
             'targetRef="handling_end"/><bpmn:endEvent id="handling_end">'), "forgotten"),
], ids=["in-the-process", "in-a-subprocess-not-from-its-start"])
def test_user_task_no_start_event_leads_to_is_refused(xml, task):
    assert problems_of(xml) == [(task, "this user task can never be reached from a start event: "
                                       "connect a sequence flow to it")]


@pytest.mark.parametrize("gateway", ["exclusiveGateway", "inclusiveGateway"])
def test_gateway_flow_without_condition_that_is_not_the_default_is_refused_on_the_flow(gateway):
    xml = retagged(SCRIPTED.replace(' default="flow_small"', ""), "gw_big", gateway)
    assert problems_of(xml) == [("flow_small", "this flow leaves gateway 'Big?' (gw_big) without a condition: "
                                               "add a condition or make it the gateway's default flow")]


NOTHING_FOLLOWS = "nothing follows this {}: connect it to the next step or to an end event"
NO_END = "no end event can be reached from this {}: give the loop a way out to an end event"


@pytest.mark.parametrize("xml, expected", [
    (changed(SCRIPTED, '<bpmn:sequenceFlow id="flow_small_end" sourceRef="review_small" targetRef="end_small" />',
             ""), [("review_small", NOTHING_FOLLOWS.format("user task"))]),
    (changed(NESTED, '<bpmn:sequenceFlow id="flow_notify_end" sourceRef="notify" targetRef="end_notified" />', ""),
     [("notify", NOTHING_FOLLOWS.format("user task"))]),
    (with_process_element(NESTED, '<bpmn:boundaryEvent id="late" attachedToRef="handling"><bpmn:timerEventDefinition>'
                                  '<bpmn:timeDuration>P9D</bpmn:timeDuration></bpmn:timerEventDefinition>'
                                  '</bpmn:boundaryEvent>'),
     [("late", NOTHING_FOLLOWS.format("boundary event"))]),
    (changed(NESTED, 'sourceRef="remind" targetRef="reminder_end"', 'sourceRef="remind" targetRef="remind"'),
     [("remind", NO_END.format("user task"))]),
    (changed(SCRIPTED.replace('targetRef="end_big"', 'targetRef="compute"'), 'targetRef="end_small"',
             'targetRef="prepare"'),
     [("prepare", NO_END.format("user task")),
      ("compute", NO_END.format("script task")), ("gw_big", NO_END.format("exclusive gateway")),
      ("review_big", NO_END.format("user task")), ("review_small", NO_END.format("user task"))]),
], ids=["task-without-outgoing-flow", "on-a-boundary-path", "boundary-event-without-flow",
        "loop-in-an-event-subprocess", "loop-with-no-way-out-not-blaming-the-start"])
def test_element_after_which_the_case_can_never_end_is_refused_once(xml, expected):
    assert problems_of(xml) == expected


def test_form_field_without_a_type_is_refused_on_its_task():
    assert problems_of(changed(SCRIPTED, ' type="long"', "")) == [
        ("prepare", "form field 'amount' has no type: choose string, long, boolean, date, enum")]


LINKED = changed(SCRIPTED, '<bpmn:endEvent id="end_small">\n      <bpmn:incoming>flow_small_end</bpmn:incoming>\n'
                           '    </bpmn:endEvent>',
                 '<bpmn:intermediateThrowEvent id="jump"><bpmn:incoming>flow_small_end</bpmn:incoming>'
                 '<bpmn:linkEventDefinition name="to_end" /></bpmn:intermediateThrowEvent>'
                 '<bpmn:intermediateCatchEvent id="landing"><bpmn:outgoing>flow_landing_end</bpmn:outgoing>'
                 '<bpmn:linkEventDefinition name="to_end" /></bpmn:intermediateCatchEvent>'
                 '<bpmn:sequenceFlow id="flow_landing_end" sourceRef="landing" targetRef="end_big" />')
UNSUPPORTED = {
    "complex-gateway": (retagged(SCRIPTED, "gw_big", "complexGateway"), [
        ("gw_big", "a complex gateway is not supported by Kesu: use an exclusive, inclusive or parallel gateway")]),
    "task-without-type": (retagged(SCRIPTED, "review_small", "task"), [
        ("review_small", "a task without a type is not supported by Kesu: make it a user task (a person does it) "
                         "or a script task (Kesu does it)")]),
    "manual-task": (retagged(SCRIPTED, "review_small", "manualTask"), [
        ("review_small", "a manual task is not supported by Kesu: make it a user task, so it reaches someone's "
                         "inbox")]),
    "service-task": (retagged(SCRIPTED, "review_small", "serviceTask"), [
        ("review_small", "a service task is not supported by Kesu: make it a script task or a user task")]),
    "ad-hoc-subprocess": (retagged(NESTED, "handling", "adHocSubProcess"), [
        ("handling", "an ad-hoc subprocess is not supported by Kesu: use a subprocess whose steps are joined by "
                     "sequence flows")]),
    "compensation": (with_process_element(
        SCRIPTED, '<bpmn:boundaryEvent id="undo" attachedToRef="review_small"><bpmn:compensateEventDefinition />'
                  '</bpmn:boundaryEvent><bpmn:scriptTask id="refund" isForCompensation="true" />'), [
        ("undo", "compensation is not supported by Kesu: put the undo steps on the path as ordinary tasks"),
        ("refund", "compensation is not supported by Kesu: put the undo steps on the path as ordinary tasks")]),
    "link-events": (LINKED, [
        ("jump", "link events are not supported by Kesu: join the two points with a sequence flow"),
        ("landing", "link events are not supported by Kesu: join the two points with a sequence flow")]),
    "boundary-without-trigger": (with_process_element(
        SCRIPTED, '<bpmn:boundaryEvent id="nudge" attachedToRef="review_small" />'), [
        ("nudge", "a boundary event without a trigger is not supported by Kesu: give it a timer, message, signal, "
                  "error, escalation or condition")]),
    "choreography": (changed(SCRIPTED, "</bpmn:definitions>",
                             '<bpmn:choreography id="talks" /></bpmn:definitions>'), [
        ("talks", "a choreography is not supported by Kesu: draw the procedure as a process")]),
    "conversation": (changed(SCRIPTED, '  <bpmn:process id="scripted"',
                             '<bpmn:collaboration id="collaboration"><bpmn:participant id="participant" '
                             'processRef="scripted" /><bpmn:conversation id="talk" /></bpmn:collaboration>\n'
                             '  <bpmn:process id="scripted"'), [
        ("talk", "a conversation is not supported by Kesu: remove it; Kesu runs only the executable process")]),
}


@pytest.mark.parametrize("xml, expected", list(UNSUPPORTED.values()), ids=list(UNSUPPORTED))
def test_element_kesu_cannot_run_is_refused_as_not_supported_instead_of_a_parser_message(xml, expected):
    assert problems_of(xml) == expected


@pytest.mark.parametrize("written, python", [
    ("${approved}", "approved"),
    ("#{total &gt; 100}", "total > 100"),
    ("${approved &amp;&amp; !rejected}", "approved and not rejected"),
    ("${grade eq 'level_1' || grade ne 'level_2'}", "grade == 'level_1' or grade != 'level_2'"),
    ("${total ge 10 and total lt 20 and total != 15}", "total >= 10 and total < 20 and total != 15"),
    ("${note == 'a &amp;&amp; !b' || empty note}", "note == 'a && !b' or not note"),
    ("${total != null &amp;&amp; approved == true}", "total != None and approved == True"),
], ids=["dollar", "hash", "and-not", "eq-ne-or", "comparisons", "string-literal-kept", "literals"])
def test_camunda_expression_gets_its_python_equivalent(written, python):
    assert problems_of(changed(SCRIPTED, "total &gt; 100", written)) == [
        ("flow_big", f"condition: '{written.replace('&gt;', '>').replace('&amp;', '&')}' is written for another "
                     f"engine; Kesu expressions are Python: write {python}")]


def test_juel_operators_without_braces_get_their_python_equivalent():
    assert problems_of(changed(SCRIPTED, "total &gt; 100", "total &gt; 100 &amp;&amp; amount != 0")) == [
        ("flow_big", "condition: 'total > 100 && amount != 0' is not Python: write total > 100 and amount != 0")]


def test_camunda_expression_whose_translation_the_sandbox_refuses_gets_no_python_to_copy():
    assert problems_of(changed(SCRIPTED, "total &gt; 100", "${execution.__class__}")) == [
        ("flow_big", "condition: '${execution.__class__}' is written for another engine; Kesu expressions are "
                     "Python: rewrite it in Python")]


def test_lint_problems_of_every_rule_are_all_listed_in_a_stable_order():
    xml = changed(SCRIPTED.replace(' default="flow_small"', "").replace(' type="long"', ""),
                  '<bpmn:sequenceFlow id="flow_big_end" sourceRef="review_big" targetRef="end_big" />', "")
    expected = [
        ("prepare", "form field 'amount' has no type: choose string, long, boolean, date, enum"),
        ("flow_small", "this flow leaves gateway 'Big?' (gw_big) without a condition: add a condition or make it "
                       "the gateway's default flow"),
        ("review_big", NOTHING_FOLLOWS.format("user task")),
    ]
    assert problems_of(xml) == expected
    assert problems_of(xml) == expected


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
    assert published(database) == [*before, (v2.id, acme.id, "complaint_standard", 2, v2.content_hash, v2.bpmn_xml)]
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

    with pytest.raises(FormError) as refused, database.session() as s:
        engine.complete(s, check_validity_task(new_id), acme.actor("service"), {"valid": True})
    assert set(refused.value.errors) == {"source_checked"}

    with database.session() as s:
        engine.complete(s, check_validity_task(old_id), acme.actor("service"), {"valid": True})
    with database.session() as s:
        old = queries.instance_view(s, engine, s.get(Instance, old_id))
        assert (old.version, old.version_id) == (1, acme.version.id)
        assert [t.element_id for t in old.tasks] == ["grade_complaint"]
        assert "source_checked" not in old.data
