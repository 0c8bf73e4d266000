"""DMN decision tables: what may be published, how their rules are read, and how publishing a new version
moves the procedures that call it onto a new version while running cases keep theirs.

Every row of the shipped grading and class tables is proved at its boundary values.
"""
from __future__ import annotations

from xml.sax.saxutils import escape

import pytest
import sqlalchemy as sa
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from complaints.registration import register
from conftest import GRADING, GROUPS, ROOT, STANDARD
from engine import queries
from engine.errors import ProcessError
from engine.records import DecisionVersion, InboxTask, Instance, ProcessVersion
from engine.repository.decisions import check_decision, latest_decision, publish_decision
from engine.repository.publishing import latest_version, publish, trial_version
from engine.repository.specs import compile_process, content_hash
from engine.repository.xmlload import DiagramError, load_xml
from engine.runtime.sandbox import SandboxScriptEngine

PROCESSES = ROOT / "processes"
GRADING_TABLE = (PROCESSES / "grading.dmn").read_bytes()
CLASS_TABLE = (PROCESSES / "complaint_class.dmn").read_bytes()
DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def table(rules: list[tuple[list[str], list[str]]], inputs: tuple[str, ...] = ("amount",),
          outputs: tuple[str, ...] = ("size",), policy: str = "UNIQUE", key: str = "sizes",
          extra: str = "") -> bytes:
    """A small DMN 1.3 decision table; each rule is (input entries, output entries)."""
    columns = "".join(f'<input id="in_{i}" label="{name}"><inputExpression id="in_{i}_x" typeRef="string">'
                      f"<text>{escape(name)}</text></inputExpression></input>" for i, name in enumerate(inputs))
    columns += "".join(f'<output id="out_{i}" label="{name}" name="{name}" />' for i, name in enumerate(outputs))
    rows = "".join(
        f'<rule id="rule_{r}">'
        + "".join(f'<inputEntry id="rule_{r}_in_{i}"><text>{escape(t)}</text></inputEntry>' for i, t in enumerate(ins))
        + "".join(f'<outputEntry id="rule_{r}_out_{i}"><text>{escape(t)}</text></outputEntry>'
                  for i, t in enumerate(outs)) + "</rule>"
        for r, (ins, outs) in enumerate(rules, 1))
    return (f'<?xml version="1.0" encoding="UTF-8"?><definitions xmlns="{DMN13}" id="defs_{key}" name="{key}" '
            f'namespace="http://kesu.test">{extra}<decision id="{key}" name="Sizes 大小"><decisionTable id="t_{key}" '
            f'hitPolicy="{policy}">{columns}{rows}</decisionTable></decision></definitions>').encode()


SIZES = table([([">= 100"], ['"big"']), (["< 100"], ['"small"'])])
SECOND_DECISION = table([(["1"], ['"x"'])], key="other").split(b"<decision ", 1)[1].split(b"</decision>")[0]

RULED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_ruled" targetNamespace="http://kesu.test">
  <bpmn:process id="ruled" name="Ruled" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="lane_cs" name="Customer Service">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>decide</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>look</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="decide" name="Decide" camunda:decisionRef="DECISION">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:userTask id="look" name="Look at it">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="seen" label="Seen" type="boolean" />
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide" />
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="look" />
    <bpmn:sequenceFlow id="f3" sourceRef="look" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""


def ruled(decision: str = "sizes") -> bytes:
    """The one-task diagram whose business rule task calls `decision`."""
    return RULED.replace("DECISION", decision).encode("utf-8")


def decide(dmn: bytes, data: dict, decision: str = "sizes") -> dict:
    """Run the decision table through a business rule task in the sandbox; the data after it."""
    process = compile_process(load_xml(ruled(decision)), "test", decisions=[load_xml(dmn)])
    workflow = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=SandboxScriptEngine())
    workflow.task_tree.data.update(data)
    workflow.do_engine_steps()
    [look] = workflow.get_tasks(state=TaskState.READY, manual=True)
    return dict(look.data)


# -- what may be published ------------------------------------------------------------------------------------

def decision_rows(database) -> list[tuple]:
    """Every published decision version, to show what was added."""
    with database.session() as s:
        return [tuple(r) for r in s.execute(sa.select(
            DecisionVersion.company_id, DecisionVersion.decision_key, DecisionVersion.version,
            DecisionVersion.content_hash).order_by(DecisionVersion.id))]



BAD_TABLES = {  # id: (DMN bytes, element the problem must name (None: the file), words the message must contain)
    "malformed": (SIZES[: len(SIZES) // 2], None, "not well-formed XML"),
    "bpmn-not-dmn": (STANDARD.read_bytes(), None, "not a DMN"),
    "xxe": (SIZES.replace(b"<definitions", b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><definitions', 1)
            .replace(b'"big"', b"&x;"), None, "DOCTYPE"),
    "schema": (SIZES.replace(b' name="Sizes', b' label="Sizes'), None, "line 1"),
    "two-decisions": (SIZES.replace(b"</definitions>", b"<decision " + SECOND_DECISION.replace(b'"rule_', b'"o_rule_')
                                    .replace(b'"in_', b'"o_in_').replace(b'"out_', b'"o_out_')
                                    + b"</decision></definitions>"), None, "exactly one decision"),
    "priority-policy": (table([([">= 100"], ['"big"'])], policy="PRIORITY"), "sizes",
                        "decision sizes: hit policy PRIORITY is not supported"),
    "rule-order-policy": (table([([">= 100"], ['"big"'])], policy="RULE ORDER"), "sizes", "RULE ORDER"),
    "collect-sum": (table([([">= 100"], ["1"])], policy='COLLECT" aggregation="SUM'), "sizes", "SUM"),
    "input-escapes": (table([(["1"], ['"x"'])], inputs=("__import__('os').getcwd()",)), "in_0",
                      "not allowed in the sandbox"),
    "entry-escapes": (table([(["> ().__class__.__base__"], ['"x"'])]), "rule_1",
                      "rule rule_1 (row 1), input 'amount': not allowed in the sandbox"),
    "entry-opens-files": (table([(["> 1"], ['open("/etc/passwd").read()'])]), "rule_1",
                          "output 'size': not allowed in the sandbox"),
    "feel-boolean": (table([(["true"], ['"yes"'])]), "rule_1", "write True"),
    "not-python": (table([(["[1..5]"], ['"x"'])]), "rule_1", "not valid Python"),
    "empty-input": (table([(["1"], ['"x"'])], inputs=(" ",)), "in_0", "no expression"),
    "output-without-a-name": (table([(["1"], ['"x"'])], outputs=("next step",)), "out_0", "give it a name"),
}


@pytest.mark.parametrize("dmn, element, words", list(BAD_TABLES.values()), ids=list(BAD_TABLES))
def test_bad_decision_table_is_refused_naming_the_problem_and_nothing_is_published(database, acme, dmn,
                                                                                   element, words):
    before = decision_rows(database)
    with pytest.raises(DiagramError) as refused, database.session() as s:
        publish_decision(s, acme.id, dmn, acme.users["owner"].id, "")
    problems = refused.value.problems
    assert any(found == element and words in message for found, message in problems), problems
    assert "root:" not in str(refused.value)
    assert decision_rows(database) == before


def test_every_bad_entry_of_a_table_is_listed_together():
    with pytest.raises(DiagramError) as refused:
        check_decision(table([(["true"], ["open('x')"]), (["> _secret"], ['"x"'])], policy="ANY"))
    assert [element for element, _ in refused.value.problems] == ["sizes", "rule_1", "rule_1", "rule_2"]


def test_shipped_tables_pass_with_their_decision_ids_as_keys():
    assert (check_decision(GRADING_TABLE).key, check_decision(CLASS_TABLE).key) == ("grading", "complaint_class")
    assert check_decision(GRADING_TABLE).name == "Complaint grading 投诉分级"
    assert check_decision(SIZES).content_hash == content_hash(SIZES)


# -- how rules are read -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("entry, value, matches", [
    ('"A"', "A", True), ('"A"', "B", False),
    ('"A", "B"', "B", True), ('"A", "B"', "C", False),
    ("> 5", 6, True), ("> 5", 5, False),
    ('in ("x", "y")', "y", True), ('not in ("x", "y")', "y", False),
    ("2 < ? <= 4", 4, True), ("2 < ? <= 4", 2, False),
    ("-", "anything", True),
])
def test_input_entries_read_as_values_lists_tests_and_question_marks(entry, value, matches):
    dmn = table([([entry], ['"hit"'])], policy="FIRST")
    assert decide(dmn, {"amount": value})["size"] == ("hit" if matches else None)


def test_first_takes_the_first_matching_row_and_collect_gathers_every_one():
    rules = [([">= 1"], ['"one"']), ([">= 2"], ['"two"'])]
    assert decide(table(rules, policy="FIRST"), {"amount": 5})["size"] == "one"
    assert decide(table(rules, policy="COLLECT"), {"amount": 5})["size"] == ["one", "two"]
    assert decide(table(rules, policy="COLLECT"), {"amount": 0})["size"] == []


def test_unique_table_with_two_matching_rows_stops_the_case_naming_both(database, engine, acme):
    overlapping = table([([">= 1"], ['"one"']), ([">= 2"], ['"two"'])])
    with database.session() as s:
        publish_decision(s, acme.id, overlapping, None)
        version_id = publish(s, acme.id, ruled(), None, groups=GROUPS).id
    with pytest.raises(ProcessError) as stopped, database.session() as s:
        engine.start(s, s.get(ProcessVersion, version_id), acme.actor("service"), {"amount": 5}, "R-1")
    assert "rows 1, 2 all match" in str(stopped.value) and stopped.value.element_id == "decide"


def test_rules_run_in_the_sandbox_when_the_table_was_never_checked():
    escaping = table([(["1"], ["().__class__.__base__.__subclasses__()"])])
    with pytest.raises(SpiffWorkflowException, match="__class__"):
        decide(escaping, {"amount": 1})


# -- the grading table, row by row ----------------------------------------------------------------------------

NOTHING = {key: value for key, value in GRADING.items() if key != "urgency"} | {"handling_cost": 0}
PARTICIPANTS = {
    1: ["general_manager", "vice_presidents", "quality", "handling_department", "customer_service"],
    2: ["general_manager", "quality", "handling_department", "customer_service"],
    3: ["quality", "handling_department", "customer_service"],
    4: ["handling_department", "customer_service"],
    5: ["customer_service"],
}
# rule id: [(facts that differ from NOTHING, level)], the first case matching the row, the others just missing it
GRADING_ROWS = {
    "level_1_cost": [({"handling_cost": 5_000_001}, 1), ({"handling_cost": 5_000_000}, 2)],
    "level_1_modules": [({"affected_kw": 1001, "defect_type": "1"}, 1), ({"affected_kw": 1000, "defect_type": "1"}, 2),
                        ({"affected_kw": 1001, "defect_type": "2"}, 3)],
    "level_1_major_impact": [({"major_impact": True}, 1)],
    "level_1_lawsuit": [({"lawsuit": True}, 1)],
    "level_1_repeated": [({"repeated": True}, 1)],
    "level_1_safety": [({"safety_hazard": True}, 1)],
    "level_2_cost": [({"handling_cost": 1_000_001}, 2), ({"handling_cost": 1_000_000}, 3)],
    "level_2_modules": [({"affected_kw": 501, "defect_type": "1"}, 2), ({"affected_kw": 500, "defect_type": "1"}, 3)],
    "level_2_group": [({"group_complaint": True}, 2)],
    "level_2_media": [({"media_exposure": True}, 2), ({"media_exposure": True, "handling_cost": 5_000_001}, 1)],
    "level_3_cost": [({"handling_cost": 100_001}, 3), ({"handling_cost": 100_000}, 4)],
    "level_3_modules": [({"affected_kw": 201, "defect_type": "2"}, 3), ({"affected_kw": 200, "defect_type": "2"}, 4),
                        ({"affected_kw": 201, "defect_type": "3"}, 5)],
    "level_4_cost": [({"handling_cost": 10_001}, 4), ({"handling_cost": 10_000}, 5)],
    "level_4_modules": [({"affected_kw": 21, "defect_type": "1"}, 4), ({"affected_kw": 20, "defect_type": "2"}, 5),
                        ({"affected_kw": 21, "defect_type": "3"}, 5)],
    "level_5": [({}, 5), ({"affected_kw": 100_000, "defect_type": "none", "handling_cost": 9_999}, 5)],
}


def test_every_row_of_the_grading_table_has_its_boundary_cases():
    rows = etree.fromstring(GRADING_TABLE).iter(f"{{{DMN13}}}rule")
    assert [row.get("id") for row in rows] == list(GRADING_ROWS)


@pytest.mark.parametrize("row", GRADING_ROWS, ids=list(GRADING_ROWS))
def test_grading_row_decides_its_level_and_participants_at_its_boundary(row):
    for facts, level in GRADING_ROWS[row]:
        data = decide(GRADING_TABLE, {**NOTHING, **facts}, "grading")
        assert (data["level"], data["participants"]) == (level, PARTICIPANTS[level]), facts


NO_CLASS_FACTS = {"liability": False, "leak": False, "crack": False, "customers_affected": 1,
                  "public_opinion": False, "group_opinion": False, "inquiry": False}
CLASS_ROWS = {
    "class_a_liability": [({"liability": True, "inquiry": True}, "A")],
    "class_a_leak": [({"leak": True, "customers_affected": 9}, "A")],
    "class_a_crack": [({"crack": True}, "A")],
    "class_b_customers": [({"customers_affected": 5}, "B"), ({"customers_affected": 4}, "C")],
    "class_b_public": [({"public_opinion": True, "group_opinion": True}, "B")],
    "class_c": [({}, "C")],
    "class_d": [({"group_opinion": True, "inquiry": True}, "D")],
    "class_e": [({"inquiry": True}, "E")],
}


def test_every_row_of_the_class_table_has_its_cases():
    rows = etree.fromstring(CLASS_TABLE).iter(f"{{{DMN13}}}rule")
    assert [row.get("id") for row in rows] == list(CLASS_ROWS)


@pytest.mark.parametrize("row", CLASS_ROWS, ids=list(CLASS_ROWS))
def test_class_row_decides_the_class_and_whether_to_report_at_once(row):
    for facts, complaint_class in CLASS_ROWS[row]:
        data = decide(CLASS_TABLE, {**NO_CLASS_FACTS, **facts}, "complaint_class")
        assert (data["complaint_class"], data["report_supervisor"]) == (complaint_class, complaint_class in "AB")


# -- versions -----------------------------------------------------------------------------------------------------

def test_decision_versions_are_numbered_per_company_and_the_same_content_returns_the_existing_one(
        database, acme, rival):
    before = decision_rows(database)
    with database.session() as s:
        first, callers = publish_decision(s, acme.id, SIZES, acme.users["owner"].id, "first sizes")
        again, again_callers = publish_decision(s, acme.id, SIZES, acme.users["owner"].id, "again")
        second, _ = publish_decision(s, acme.id, SIZES.replace(b"&gt;= 100", b"&gt;= 200"), None, "bigger")
        elsewhere, _ = publish_decision(s, rival.id, SIZES, None, "")
        assert latest_decision(s, acme.id, "sizes").id == second.id
        assert latest_decision(s, acme.id, "unknown") is None
        assert (first.version, again.id, second.version, elsewhere.version) == (1, first.id, 2, 1)
        assert (first.name, first.note, callers, again_callers) == ("Sizes 大小", "first sizes", [], [])
    assert decision_rows(database) == [*before, (acme.id, "sizes", 1, content_hash(SIZES)),
                                        (acme.id, "sizes", 2, second.content_hash),
                                        (rival.id, "sizes", 1, content_hash(SIZES))]


def test_procedure_calling_an_unpublished_table_is_refused_on_its_task(database, acme):
    with pytest.raises(DiagramError) as refused, database.session() as s:
        publish(s, acme.id, ruled("sizes"), None, groups=GROUPS)
    assert refused.value.problems == [("decide", "no decision table called sizes has been published")]
    with pytest.raises(DiagramError) as unnamed, database.session() as s:
        publish(s, acme.id, RULED.replace(' camunda:decisionRef="DECISION"', "").encode(), None, groups=GROUPS)
    assert unnamed.value.problems[0][0] == "decide" and "decisionRef" in unnamed.value.problems[0][1]


def test_procedure_version_is_pinned_to_the_newest_tables_and_hashed_with_them(database, acme):
    with database.session() as s:
        standard = latest_version(s, acme.id, "complaint_standard")
        grading = latest_decision(s, acme.id, "grading")
        assert [d.id for d in standard.decisions] == [grading.id]
        assert standard.content_hash not in (content_hash(STANDARD.read_bytes()), grading.content_hash)
        assert publish(s, acme.id, STANDARD.read_bytes(), None, groups=GROUPS).id == standard.id
        trial = trial_version(s, acme.id, ruled("grading"), None, GROUPS)
        assert (trial.version, [d.id for d in trial.decisions]) == (None, [grading.id])


def test_new_table_version_republishes_its_callers_and_running_cases_keep_theirs(database, engine, acme,
                                                                                 complaint_data):
    """Level 4 becomes level 3 in grading v2: a case started before still grades with v1."""
    with database.session() as s:
        publish_decision(s, acme.id, SIZES, None)
        other = publish(s, acme.id, ruled(), None, groups=GROUPS)
        v1 = latest_version(s, acme.id, "complaint_standard")
        old_case = register(s, engine, v1, acme.actor("service"), complaint_data, acme.timezone).instance_id
    stricter = GRADING_TABLE.replace(b"&gt; 100000</text>", b"&gt; 10000</text>")
    with database.session() as s:
        grading, callers = publish_decision(s, acme.id, stricter, acme.users["owner"].id, "stricter level 3")
        assert grading.version == 2
        assert [(v.process_key, v.version, v.note) for v in callers] == [
            ("complaint_standard", 2, "Decision table grading updated to version 2")]
        assert callers[0].bpmn_xml == s.get(ProcessVersion, v1.id).bpmn_xml
        assert [d.id for d in callers[0].decisions] == [grading.id]
        assert latest_version(s, acme.id, "ruled").id == other.id
        new_case = register(s, engine, latest_version(s, acme.id, "complaint_standard"), acme.actor("service"),
                            complaint_data, acme.timezone).instance_id
        again, none = publish_decision(s, acme.id, stricter, None, "")
        assert (again.id, none) == (grading.id, [])

    def grade(instance_id: int) -> int:
        for key, data in (("service", {"valid": True}), ("quality", GRADING)):
            with database.session() as s:
                task = s.scalar(sa.select(InboxTask).where(InboxTask.instance_id == instance_id))
                engine.complete(s, task.id, acme.actor(key), dict(data))
        with database.session() as s:
            return queries.instance_view(s, engine, s.get(Instance, instance_id)).data["level"]

    assert (grade(old_case), grade(new_case)) == (4, 3)
    with database.session() as s:
        assert s.get(Instance, old_case).version_id == v1.id


def test_kesu_publish_accepts_a_dmn_file_and_names_the_new_procedure_versions(app, database, acme, tmp_path):
    path = tmp_path / "grading.dmn"
    path.write_bytes(GRADING_TABLE.replace(b"&gt; 10000</text>", b"&gt; 20000</text>"))
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["kesu", "publish", str(path), "--company", acme.name])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["published decision table grading version 2",
                                          "published complaint_standard version 2 using it"]
