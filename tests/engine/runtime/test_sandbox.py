"""Diagram scripts and conditions run in a sandbox: escapes and code too large to run are refused when
publishing, fail harmlessly when they run anyway (bombs stop within the time and memory limits), a failing step
saves nothing and leaves the case in an error state whatever the script raised, and no text a script makes or
keeps shows a function, module or object.

The diagram (diagrams/script_and_gateway.bpmn): prepare (Quality, field `amount`) → compute (script)
→ gw_big (flow_big has the condition) → review_big / review_small.
"""
from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from conftest import DIAGRAMS, GROUPS
from engine.errors import Conflict, ProcessError
from engine.records import Event, InboxTask, Instance, ProcessVersion
from engine.repository.publishing import publish
from engine.repository.specs import compile_process, content_hash
from engine.repository.validation import check_diagram
from engine.repository.xmlload import DiagramError, load_xml
from engine.runtime import serializer
from engine.runtime.restricted import SandboxError, is_iso_literal, script_line
from engine.runtime.sandbox import SandboxScriptEngine
from sandboxing import RAISED, evaluator_pids, killing_the_busy_evaluator, must_return_within, scripted, start_scripted

IMPORT_OS = "__import__('os').system('true')"
SUBCLASSES = "().__class__.__base__.__subclasses__()"
OPEN_FILE = "open('/etc/passwd').read()"


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
    ("condition", "10**10**10 > 1", "flow_big", "10 ** 10 ** 10 would compute a number of about 10,000,000,000 digits"),
    ("script", "x = 2**10**9", "compute", "2 ** 10 ** 9 would compute a number of about 301,029,996 digits"),
    ("script", "x = pow(10, 10**8)", "compute", "pow(10, 10 ** 8) would compute a number of about 100,000,000"),
    ("script", "x = 'a' * 10**10", "compute", "'a' * 10 ** 10 would make a text of 10,000,000,000 characters"),
    ("condition", "len([0] * 10**9) > 0", "flow_big", "[0] * 10 ** 9 would make a list of 1,000,000,000 items"),
    ("script", "class Record:\n    pass", "compute", "class statements are not allowed"),
], ids=["import-script", "import-condition", "subclasses-script", "subclasses-condition", "open-script",
        "open-condition", "power-tower", "huge-power", "huge-pow", "huge-text", "huge-list", "class"])
def test_publishing_refuses_sandbox_escapes_and_code_too_large_to_run_naming_the_element(
        database, acme, where, code, element, named):
    before = version_count(database)
    with pytest.raises(DiagramError) as refused, database.session() as s:
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

def snapshot(database, instance_id: int) -> tuple:
    """Everything a step would change: the instance row, its inbox and its events."""
    with database.session() as s:
        i = s.get(Instance, instance_id)
        inbox = sorted(s.scalars(sa.select(InboxTask.element_id).where(InboxTask.instance_id == instance_id)))
        events = list(s.scalars(sa.select(Event.type).where(Event.instance_id == instance_id).order_by(Event.seq)))
        return (i.state, i.lock_version, i.event_count, i.status, i.updated_at), inbox, events


def fails_and_stops_the_case(database, engine, acme, xml: bytes, checked: bool, element: str,
                             named: str | tuple[str, ...]) -> ProcessError:
    """Complete `prepare` (amount 10) so that the step runs the diagram's code: it must fail in time, naming the
    element and `named` (or one of them), save nothing, and once recorded leave the case in the error state,
    refusing further steps."""
    instance_id, task_id = start_scripted(database, engine, acme, xml, checked)
    before = snapshot(database, instance_id)
    quality = acme.actor("quality")

    with pytest.raises(ProcessError) as failed, must_return_within(10), database.session() as s:
        engine.complete(s, task_id, quality, {"amount": 10})
    error = failed.value
    assert (error.element_id, error.instance_id) == (element, instance_id)
    alternatives = (named,) if isinstance(named, str) else named
    assert element in str(error) and any(text in str(error) for text in alternatives), str(error)
    assert snapshot(database, instance_id) == before

    with database.session() as s:
        engine.record_error(s, error, quality)
    with database.session() as s:
        instance = s.get(Instance, instance_id)
        assert (instance.status, instance.error_element, instance.error) == ("error", element, str(error))
        last = s.scalars(sa.select(Event).where(Event.instance_id == instance_id).order_by(Event.seq.desc())).first()
        assert (last.type, last.element_id, last.data["message"]) == ("error", element, str(error))
    with pytest.raises(Conflict) as stopped, database.session() as s:
        engine.complete(s, task_id, quality, {"amount": 10})
    assert stopped.value.code == "case_stopped"
    return error


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
    fails_and_stops_the_case(database, engine, acme, scripted(**{where: code}), checked, element, named)


# What a diagram stored unchecked may do to take a server down; `amount` is 10 when it runs. Those seen in the
# code are refused before anything runs; the others are stopped by the evaluator's time or memory limit.
BOMBS = {
    "power-tower-condition": ("condition", "10**10**10 > 1", "gw_big", "10,000,000,000 digits"),
    "data-power-tower-condition": ("condition", "10 ** 10 ** amount > 1", "gw_big", "time limit"),
    "huge-text": ("script", "x = 'a' * 10**10", "compute", "10,000,000,000 characters"),
    "data-huge-text": ("script", "x = 'a' * 10 ** amount", "compute", "MemoryError"),
    "pow": ("script", "x = pow(10, 10 ** amount)", "compute", "time limit"),
    "huge-join": ("script", "x = ','.join(['abc'] * 10 ** (amount - 2))", "compute", "MemoryError"),
    "deep-recursion": ("script", "def down(n):\n    return down(n + 1)\nx = down(0)", "compute", "RecursionError"),
    "endless-loop": ("script", "while True:\n    pass", "compute", "time limit"),
    "memory-hog": ("script", "x = []\nwhile True:\n    x.append('a' * amount * 1000000)", "compute",
                   ("MemoryError", "time limit")),  # on a busy machine, filling 256 MB may take longer than 1 s
}


@pytest.mark.parametrize("where, code, element, named", BOMBS.values(), ids=BOMBS.keys())
def test_bombs_published_unchecked_stop_within_the_limits_and_the_case_goes_to_error(
        database, engine, acme, where, code, element, named):
    fails_and_stops_the_case(database, engine, acme, scripted(**{where: code}), False, element, named)


@pytest.mark.parametrize("code, named", RAISED.values(), ids=RAISED.keys())
def test_anything_a_script_raises_stops_the_case_with_its_element_named(database, engine, acme, code, named):
    error = fails_and_stops_the_case(database, engine, acme, scripted(code, "False"), False, "compute", named)
    assert "0x" not in str(error) and "<module" not in str(error)


def test_an_evaluator_killed_while_running_a_script_stops_the_case(database, engine, acme):
    with killing_the_busy_evaluator(engine) as killed:
        error = fails_and_stops_the_case(database, engine, acme, scripted("while True:\n    pass", "False"), True,
                                         "compute", "killed by SIGKILL")
    assert killed and killed[0] not in evaluator_pids(engine)
    assert "evaluator stopped" in str(error)


def test_script_leaving_unsaveable_data_is_a_process_error(database, engine, acme):
    _, task_id = start_scripted(database, engine, acme, scripted("total = range(3)", "False"), True)
    with pytest.raises(ProcessError) as failed, database.session() as s:
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


# -- a script's results are data, and no text made in a script shows an object --------------------------------

# Each leak is tried where it would run: str(today), `x = "".join` and the like in the server (engine.runtime.cost),
# f-strings, % and repr() in an evaluator.
LEAKS = {
    "str-of-a-function": ("x = str(today)", "str() of a function"),
    "str-of-a-bound-method": ('x = str("".join)', "str() of a builtin_function_or_method"),
    "str-of-a-list-holding-a-module": ("x = str([1, math])", "str() of a module"),
    "repr-of-a-module": ("x = repr(math)", "repr() of a module"),
    "f-string": ('x = f"{len}"', "an f-string of a builtin_function_or_method"),
    "f-string-with-conversion": ('x = f"{math!r:>80}"', "an f-string of a module"),
    "percent": ('x = "%s" % math', "% formatting of a module"),
    "percent-tuple": ('x = "%r and %s" % (1, "".join)', "% formatting of a builtin_function_or_method"),
    "percent-assign": ('x = "%s"\nx %= deadline', "% formatting of a function"),
    "format-builtin": ('x = format(math, "")', "name 'format' is not defined"),
    "str-format": ('x = "{}".format(math)', "format"),
    "str-format-through-the-type": ('x = str.format("{}", math)', "format"),
    "exception-text": ('try:\n    {}[math]\nexcept KeyError as e:\n    x = str(e)', "str() of a module"),
    "bound-method-kept": ('x = "".join', "variable 'x' holds a builtin_function_or_method"),
    "function-kept": ("f = len", "variable 'f' holds a builtin_function_or_method"),
    "module-kept": ("m = math", "variable 'm' holds a module"),
    "module-in-a-list-kept": ("m = [1, math]", "variable 'm' holds a module"),
    "function-defined": ("def helper():\n    return 1", "variable 'helper' holds a function"),
    "generator-kept": ("g = (n for n in range(3))", "variable 'g' holds a generator"),
}


@pytest.mark.parametrize("script, named", LEAKS.values(), ids=LEAKS.keys())
def test_scripts_cannot_keep_or_print_functions_modules_or_objects(engine, script, named):
    context = {"amount": 1}
    with pytest.raises(Exception) as refused, must_return_within(10):
        engine.script_engine.environment.execute(script, context)
    assert named in str(refused.value)
    assert context == {"amount": 1}


def test_text_made_from_data_is_allowed_and_shows_no_object(engine):
    script = """
total = str(amount) + "|" + repr([amount, "a"]) + f"|{amount:>4}|{name!r}|{today()}"
percent = "%d items of %s" % (amount, name)
upper = str.upper(name) + "-".join([name, str(amount)])
is_text = isinstance(name, str) and not isinstance(amount, str)
try:
    missing = {}["key"]
except KeyError as error:
    message = str(error)
"""
    context = {"amount": 3, "name": "resin"}
    with must_return_within(10):
        engine.script_engine.environment.execute(script, context)
    assert context["total"].startswith("3|[3, 'a']|   3|'resin'|20")
    assert (context["percent"], context["upper"], context["is_text"], context["message"]) == (
        "3 items of resin", "RESINresin-3", True, "'key'")
    assert not any("0x" in str(value) or "<" in str(value) for value in context.values())


@pytest.mark.parametrize("script, kind, args, line", [
    ("raise KeyError(1)", KeyError, (1,), 1),
    ("x = 1\nraise OSError(2, 'gone')", FileNotFoundError, (2, "gone"), 2),  # as Python makes it
    ("raise UnicodeDecodeError('utf-8', b'', 0, 1, 'bad')", UnicodeDecodeError, ("utf-8", b"", 0, 1, "bad"), 1),
    ("raise StopIteration", StopIteration, (), 1),
    ("raise ValueError(math)", ValueError, (), 1),
    ("raise SystemExit(3)", SandboxError, ("SystemExit: 3",), 1),
    ("x = [n for n in range(2)]\nraise LookupError(x)", LookupError, ([0, 1],), 2),
], ids=["key-error", "os-error", "unicode-error", "stop-iteration", "object-argument-dropped", "system-exit",
        "argument-from-the-script"])
def test_an_evaluators_errors_come_back_as_the_same_builtin_type_with_their_line(engine, script, kind, args, line):
    with pytest.raises(Exception) as raised, must_return_within(10):
        engine.script_engine.environment.execute(script, {"amount": 1})
    assert (type(raised.value), raised.value.args, script_line(raised.value)) == (kind, args, line)


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
        instance = s.get(Instance, engine.start(s, version, acme.actor("service"), {}, business_key="TIMER-1").id)
        workflow = serializer.loads(instance.state, engine.compiled(version), engine.script_engine)
    [waiting] = workflow.waiting_events()
    due = datetime.fromisoformat(waiting.value)
    assert waiting.name == "Overdue"
    assert 14 * 86400 - 60 < (due - instance.created_at).total_seconds() < 14 * 86400 + 3600

