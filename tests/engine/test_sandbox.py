"""Diagram scripts and conditions run in a sandbox: escapes are refused when publishing, fail harmlessly
when they run anyway, and a failing step saves nothing and leaves the case in an error state.

The diagram (diagrams/script_and_gateway.bpmn): prepare (Quality, field `amount`) → compute (script)
→ gw_big (flow_big has the condition) → review_big / review_small.
"""
from __future__ import annotations

import contextlib
import signal
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine import serializer
from engine.errors import Conflict, ProcessError
from engine.publishing import publish
from engine.records import Event, InboxTask, Instance, ProcessVersion
from engine.restricted import is_iso_literal
from engine.sandbox import SandboxScriptEngine
from engine.specs import compile_process, content_hash
from engine.validation import check_diagram
from engine.xmlload import DiagramError, load_xml

DIAGRAMS = Path(__file__).parent / "diagrams"
GROUPS = ("Customer Service", "Handling Department", "Quality", "Management")
IMPORT_OS = "__import__('os').system('true')"
SUBCLASSES = "().__class__.__base__.__subclasses__()"
OPEN_FILE = "open('/etc/passwd').read()"


def scripted(script: str = "total = amount * 2", condition: str = "total > 100") -> bytes:
    """The test diagram with this script and this condition on flow_big."""
    text = (DIAGRAMS / "script_and_gateway.bpmn").read_text(encoding="utf-8")
    return text.replace("SCRIPT", escape(script)).replace("CONDITION", escape(condition)).encode("utf-8")


def publish_unchecked(session, company_id: int, xml: bytes) -> ProcessVersion:
    """Store a version without check_diagram, like one published before a sandbox rule existed."""
    latest = session.scalar(sa.select(sa.func.max(ProcessVersion.version)).where(
        ProcessVersion.company_id == company_id, ProcessVersion.process_key == "scripted")) or 0
    version = ProcessVersion(company_id=company_id, process_key="scripted", version=latest + 1, name="Scripted",
                             content_hash=content_hash(xml), bpmn_xml=xml.decode("utf-8"))
    session.add(version)
    session.flush()
    return version


class Hung(BaseException):
    """Raised by the guard below; a BaseException so no `except Exception` in the engine can swallow it."""


@contextlib.contextmanager
def must_return_within(seconds: float):
    """Turn a hang into a test failure instead of a stuck test run (a liveness guard, not a timing check).

    The interruption itself wakes the sandbox's trace function, which may then report its own time-out, so
    whatever the step raised, having had to interrupt it fails the test."""
    interrupted = []

    def interrupt(signum, frame):
        interrupted.append(True)
        raise Hung()
    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if interrupted:
            pytest.fail(f"still running after {seconds:g} s: the script time limit did not stop it")


def version_count(database) -> int:
    with database.session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(ProcessVersion))


# -- publish time ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("where, code, element, named", [
    ("script", f"x = {IMPORT_OS}", "compute", "__import__"),
    ("condition", f"{IMPORT_OS} == 0", "flow_big", "__import__"),
    ("script", f"x = {SUBCLASSES}", "compute", "__subclasses__"),
    ("condition", f"len({SUBCLASSES}) > 0", "flow_big", "__class__"),
    ("script", f"x = {OPEN_FILE}", "compute", "open"),
    ("condition", f"{OPEN_FILE} != ''", "flow_big", "open"),
], ids=["import-script", "import-condition", "subclasses-script", "subclasses-condition", "open-script",
        "open-condition"])
def test_publishing_refuses_sandbox_escapes_naming_the_element(database, acme, where, code, element, named):
    before = version_count(database)
    with pytest.raises(DiagramError) as refused:
        with database.session() as s:
            publish(s, acme.id, scripted(**{where: code}), None, groups=GROUPS)
    assert [e for e, _ in refused.value.problems] == [element]
    message = refused.value.problems[0][1]
    assert "sandbox" in message and named in message
    assert version_count(database) == before


def test_safe_scripts_and_conditions_publish(database, acme):
    with database.session() as s:
        version = publish(s, acme.id, scripted("total = sum([amount, 1]) * 2", "total > 100 and amount != 0"),
                          None, groups=GROUPS)
    assert (version.process_key, version.version) == ("scripted", 1)


# -- run time, on a bare workflow compiled without check_diagram ----------------------------------------------

def bare_workflow(engine, xml: bytes) -> BpmnWorkflow:
    """The diagram parsed without any publish-time check, running on the engine's sandboxed script engine."""
    process = compile_process(load_xml(xml), content_hash(xml))
    workflow = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=engine.script_engine)
    workflow.do_engine_steps()
    return workflow


@pytest.mark.parametrize("where, code", [
    ("script", "__import__('os').system('touch MARKER')"),
    ("script", "import os\nos.system('touch MARKER')"),
    ("script", "x = [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'Popen']"),
    ("script", "open('MARKER', 'w').write('escaped')"),
    ("script", "x = getattr(math, '_' + '_loader__')"),
    ("script", "x = '{0.__class__}'.format(amount)"),
    ("condition", "open('MARKER', 'w') is None"),
    ("condition", "__import__('os').system('touch MARKER') == 0"),
], ids=["import", "import-statement", "subclasses", "open", "getattr-dunder", "str-format", "open-condition",
        "import-condition"])
def test_escapes_compiled_past_the_check_fail_harmlessly_at_run_time(engine, tmp_path, where, code):
    marker = tmp_path / "escaped"
    workflow = bare_workflow(engine, scripted(**{where: code.replace("MARKER", str(marker))}))
    [prepare] = workflow.get_tasks(state=TaskState.READY, manual=True)
    prepare.data["amount"] = 200
    prepare.run()
    with pytest.raises(SpiffWorkflowException) as failed:
        workflow.do_engine_steps()
    assert failed.value.task.task_spec.bpmn_id == ("compute" if where == "script" else "gw_big")
    assert not marker.exists()


# -- run time, through the engine ---------------------------------------------------------------------------

def start_scripted(database, engine, acme, xml: bytes, checked: bool) -> tuple[int, str]:
    """Publish (or store unchecked) and start the diagram; returns the instance id and its `prepare` task id."""
    with database.session() as s:
        version = publish(s, acme.id, xml, None, groups=GROUPS) if checked else publish_unchecked(s, acme.id, xml)
        instance = engine.start(s, version, acme.actor("quality"), {}, business_key="SANDBOX-1")
        row = s.scalar(sa.select(InboxTask).where(InboxTask.instance_id == instance.id))
        assert row.element_id == "prepare"
        return instance.id, row.id


def snapshot(database, instance_id: int) -> tuple:
    """Everything a step would change: the instance row, its inbox and its events."""
    with database.session() as s:
        i = s.get(Instance, instance_id)
        inbox = sorted(s.scalars(sa.select(InboxTask.element_id).where(InboxTask.instance_id == instance_id)))
        events = list(s.scalars(sa.select(Event.type).where(Event.instance_id == instance_id).order_by(Event.seq)))
        return (i.state, i.lock_version, i.event_count, i.status, i.updated_at), inbox, events


@pytest.mark.parametrize("where, code, checked, element, named", [
    ("script", "while True:\n    pass", True, "compute", "time limit"),
    ("script", "while True: pass", True, "compute", "time limit"),
    ("script", "total = amount * undefined_rate", True, "compute", "undefined_rate"),
    ("script", f"x = {OPEN_FILE}", False, "compute", "open"),
    ("condition", "missing_variable > 1", True, "gw_big", "missing_variable"),
    ("condition", "total / 0 > 1", True, "gw_big", "division by zero"),
    ("script", f"x = {IMPORT_OS}", False, "compute", "__import__"),
    ("condition", f"len({SUBCLASSES}) > 0", False, "gw_big", "__class__"),
], ids=["endless-loop", "endless-one-line-loop", "name-error", "open", "condition-name-error",
        "condition-zero-division", "unchecked-import", "unchecked-subclasses"])
def test_failing_step_names_the_element_saves_nothing_and_the_case_goes_to_error(
        database, engine, acme, where, code, checked, element, named):
    instance_id, task_id = start_scripted(database, engine, acme, scripted(**{where: code}), checked)
    before = snapshot(database, instance_id)
    quality = acme.actor("quality")

    with pytest.raises(ProcessError) as failed, must_return_within(5):
        with database.session() as s:
            engine.complete(s, task_id, quality, {"amount": 3})
    error = failed.value
    assert (error.element_id, error.instance_id) == (element, instance_id)
    assert element in str(error) and named in str(error)
    assert snapshot(database, instance_id) == before

    with database.session() as s:
        engine.record_error(s, error, quality)
    with database.session() as s:
        instance = s.get(Instance, instance_id)
        assert (instance.status, instance.error_element, instance.error) == ("error", element, str(error))
        last = s.scalars(sa.select(Event).where(Event.instance_id == instance_id).order_by(Event.seq.desc())).first()
        assert (last.type, last.element_id, last.data["message"]) == ("error", element, str(error))
    with pytest.raises(Conflict) as stopped:
        with database.session() as s:
            engine.complete(s, task_id, quality, {"amount": 3})
    assert stopped.value.code == "case_stopped"


def test_script_leaving_unsaveable_data_is_a_process_error(database, engine, acme):
    instance_id, task_id = start_scripted(database, engine, acme, scripted("total = range(3)", "False"), True)
    with pytest.raises(ProcessError) as failed:
        with database.session() as s:
            engine.complete(s, task_id, acme.actor("quality"), {"amount": 3})
    assert failed.value.element_id == "compute"


def test_successful_script_and_condition_route_the_case(database, engine, acme):
    instance_id, task_id = start_scripted(database, engine, acme, scripted(), True)
    with database.session() as s:
        engine.complete(s, task_id, acme.actor("quality"), {"amount": 60})
        instance = s.get(Instance, instance_id)
        assert s.scalar(sa.select(InboxTask.element_id).where(InboxTask.instance_id == instance_id)) == "review_big"
        workflow = serializer.loads(instance.state, engine.compiled(instance.version), engine.script_engine)
        [review] = workflow.get_tasks(state=TaskState.READY, manual=True)
        assert review.data["total"] == 120


def test_scripts_can_use_the_date_helpers_the_sandbox_offers(engine):
    context = {"amount": 1}
    engine.script_engine.environment.execute("due = today() + timedelta(days=14)", context)
    assert "due" in context


# -- timers written as plain ISO 8601 literals --------------------------------------------------------------

@pytest.mark.parametrize("text", ["P14D", " P14D ", "PT4H", "P1Y2M3DT4H5M6S", "PT0.5S", "P2W", "R3/PT1H",
                                  "2026-03-01T09:00:00+08:00", "2026-03-01T09:00Z"])
def test_iso_literals_are_recognised(text):
    assert is_iso_literal(text)


@pytest.mark.parametrize("text", ["'P14D'", "P", "PT", "P1DT", "14D", "timedelta(days=14)", "due_in", "P14D + 1"])
def test_expressions_are_not_taken_for_iso_literals(text):
    assert not is_iso_literal(text)


def test_script_engine_reads_a_bare_literal_and_a_quoted_expression_alike():
    xml = scripted()
    workflow = BpmnWorkflow(compile_process(load_xml(xml), content_hash(xml)).spec, script_engine=SandboxScriptEngine())
    workflow.do_engine_steps()
    [task] = workflow.get_tasks(state=TaskState.READY, manual=True)
    task.data["days"] = 14
    engine = workflow.script_engine
    assert engine.evaluate(task, "P14D") == "P14D"
    assert engine.evaluate(task, "'P14D'") == "P14D"
    assert engine.evaluate(task, "'P%dD' % days") == "P14D"


def test_boundary_timer_written_p14d_publishes_and_waits_fourteen_days(database, engine, acme):
    xml = (DIAGRAMS / "timers.bpmn").read_text(encoding="utf-8")
    xml = xml.replace("HANDLE_TIMER", "P14D").replace("PAUSE_TIMER", "PT1H").encode("utf-8")
    check_diagram(xml, GROUPS)
    with database.session() as s:
        version = publish(s, acme.id, xml, None, groups=GROUPS)
        instance = engine.start(s, version, acme.actor("service"), {}, business_key="TIMER-1")
        workflow = serializer.loads(instance.state, engine.compiled(version), engine.script_engine)
    [waiting] = workflow.waiting_events()
    due = datetime.fromisoformat(waiting.value)
    assert waiting.name == "Overdue"
    assert 14 * 86400 - 60 < (due - instance.created_at).total_seconds() < 14 * 86400 + 3600

