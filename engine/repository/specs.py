"""Parse BPMN into specs once per content hash, and describe each user task for the rest of Kesu.

The camunda flavour of SpiffWorkflow's parser is extended to read the Camunda attributes the stock
parser leaves in the XML (candidateGroups, candidateUsers, assignee, dueDate, priority), and to read
`camunda:formData` even when no formKey is given (Camunda Modeler writes it that way).

Business rule tasks run the DMN decision tables a version is pinned to, parsed together with its diagram
(engine/runtime/dmn.py evaluates them).
"""
from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

from cachetools import LRUCache
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.parser.task_spec import CAMUNDA_MODEL_NS, BusinessRuleTaskParser, UserTaskParser
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask
from SpiffWorkflow.camunda.specs.user_task import Form, FormField, UserTask

from engine.repository.xmlload import load_xml
from engine.runtime.dmn import KesuDMNEngine, UnboundDecision

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
FIELD_TYPES = ("string", "long", "boolean", "date", "enum")
_FORM_KEY = f"{{{CAMUNDA_MODEL_NS}}}formKey"
PEOPLE_CHOICES = ("users", "groups")  # a string field whose value is one of the company's users (e-mail) or groups
# How an end event closes a complaint (its `closure` property); an end event that says none closes it normally.
CLOSURES = ("normal", "invalid", "abnormal")


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


class KesuUserTask(UserTask):
    """A camunda user task that also carries who it is offered to, its due date and priority."""

    def __init__(self, wf_spec: BpmnProcessSpec, name: str, form: Form, candidate_groups: tuple[str, ...] = (),
                 candidate_users: tuple[str, ...] = (), assignee: str | None = None, due_date: str | None = None,
                 priority: str | None = None, **kwargs: Any) -> None:
        super().__init__(wf_spec, name, form, **kwargs)
        self.candidate_groups = candidate_groups
        self.candidate_users = candidate_users
        self.assignee = assignee
        self.due_date = due_date
        self.priority = priority


class KesuUserTaskParser(UserTaskParser):
    """Reads the Camunda task attributes into KesuUserTask."""

    def create_task(self) -> KesuUserTask:
        camunda = f"{{{CAMUNDA_MODEL_NS}}}"
        attrib = self.node.attrib
        return KesuUserTask(
            self.spec, self.bpmn_id, form=self.get_form(),
            candidate_groups=_split(attrib.get(f"{camunda}candidateGroups")),
            candidate_users=_split(attrib.get(f"{camunda}candidateUsers")),
            assignee=attrib.get(f"{camunda}assignee") or None,
            due_date=attrib.get(f"{camunda}dueDate") or None,
            priority=attrib.get(f"{camunda}priority") or None,
            **self.bpmn_attributes,
        )

    def get_form(self) -> Form:
        """formData with or without a formKey; the stock parser drops fields when there is no key."""
        key = self.node.get(_FORM_KEY, "")
        self.node.set(_FORM_KEY, key)
        try:
            return super().get_form()
        finally:
            if not key:
                del self.node.attrib[_FORM_KEY]


class KesuBusinessRuleTaskParser(BusinessRuleTaskParser):
    """A business rule task must name its decision table; a missing camunda:decisionRef is a problem, not a crash."""

    @staticmethod
    def get_decision_ref(node: etree._Element) -> str:
        ref: str = node.get(f"{{{CAMUNDA_MODEL_NS}}}decisionRef", "")
        return ref

    def create_task(self) -> BusinessRuleTask:
        if not self.get_decision_ref(self.node):
            self.raise_validation_exception("this business rule task names no decision table (camunda:decisionRef)")
        return super().create_task()


class KesuParser(CamundaParser):
    """The camunda parser with Kesu's task specs; `bind_decisions=False` checks a diagram without its DMN."""

    OVERRIDE_PARSER_CLASSES: ClassVar[dict[str, tuple[type, type]]] = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("userTask"): (KesuUserTaskParser, KesuUserTask),
        full_tag("businessRuleTask"): (KesuBusinessRuleTaskParser, BusinessRuleTask),
    }

    def __init__(self, bind_decisions: bool = True) -> None:
        super().__init__()
        self.bind_decisions = bind_decisions

    def get_engine(self, decision_ref: str, node: etree._Element) -> KesuDMNEngine | UnboundDecision:
        if not self.bind_decisions:
            return UnboundDecision(decision_ref)
        return KesuDMNEngine(super().get_engine(decision_ref, node).decision_table)


@dataclass(frozen=True)
class Option:
    id: str
    name: str
    names: dict[str, str]


@dataclass(frozen=True)
class FieldSpec:
    """One declared form field; the only keys a task's submission may contribute."""

    id: str
    type: str
    label: str
    labels: dict[str, str] = field(default_factory=dict)
    required: bool = False
    readonly: bool = False
    min: float | None = None
    max: float | None = None
    minlength: int | None = None
    maxlength: int | None = None
    options: tuple[Option, ...] = ()
    default: str | None = None
    required_when: tuple[str, object] | None = None  # (other field, value): required when it has that value
    choices: str | None = None  # "users" or "groups": one of the company's (the `choices` property of the field)

    def label_in(self, locale: str) -> str:
        return self.labels.get(locale) or self.label or self.id


@dataclass(frozen=True)
class TaskMeta:
    """Everything Kesu needs to know about one user task of a diagram."""

    element_id: str
    name: str
    names: dict[str, str]
    lane: str | None
    candidate_groups: tuple[str, ...]
    candidate_users: tuple[str, ...]
    assignee: str | None
    due_date: str | None
    priority: str | None
    form_key: str | None
    fields: tuple[FieldSpec, ...]
    pauses_sla: bool = False  # the case waits for the customer here: SLA clocks stop while it is open

    def name_in(self, locale: str) -> str:
        return self.names.get(locale) or self.name or self.element_id

    @property
    def offered_groups(self) -> tuple[str, ...]:
        """Candidate groups, or the lane's group when the task names no candidates at all."""
        if self.candidate_groups or self.candidate_users or self.assignee:
            return self.candidate_groups
        return (self.lane,) if self.lane else ()


@dataclass(frozen=True)
class Flow:
    id: str
    name: str
    source: str
    target: str
    condition: str | None
    reopens: bool = False  # taking it reopens the complaint (the customer was not satisfied)


@dataclass
class CompiledProcess:
    """A parsed diagram, shared read-only by every instance of its version."""

    key: str
    name: str
    content_hash: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    tasks: dict[str, TaskMeta]
    flows: dict[tuple[str, str], Flow]
    element_names: dict[str, dict[str, str]]
    lanes: frozenset[str] = frozenset()
    decision_refs: dict[str, str] = field(default_factory=dict)  # business rule task id -> decision key
    closures: dict[str, str] = field(default_factory=dict)  # end event id -> its `closure` property, when it has one

    def closure_of(self, end_element: str | None) -> str:
        """How a case that ended at `end_element` was closed: the end event's `closure`, else normally."""
        return self.closures.get(end_element or "", "normal")

    @cached_property  # the process is shared and read-only: compute once, not per task view
    def group_labels(self) -> dict[str, dict[str, str]]:
        """Translations of group names, taken from the lanes named after them."""
        return {names[""]: names for element_id, names in self.element_names.items() if element_id in self.lanes}

    @cached_property
    def field_labels(self) -> dict[str, dict[str, str]]:
        """Every declared form field's label ('' key) and translations, across the diagram's tasks."""
        return {f.id: {"": f.label or f.id, **f.labels} for task in self.tasks.values() for f in task.fields}


def content_hash(xml: bytes) -> str:
    return hashlib.sha256(xml).hexdigest()


def _localized(extensions: dict[str, str], prefix: str) -> dict[str, str]:
    return {key.split(":", 1)[1]: value for key, value in extensions.items() if key.startswith(prefix + ":")}


def _number(value: str | None) -> float | None:
    return None if value in (None, "") else float(value)


def _field_spec(form_field: FormField) -> FieldSpec:
    props = {p.id: p.value for p in form_field.properties}
    rules = {v.name: v.config for v in form_field.validation}
    options = tuple(
        Option(o.id, o.name, _localized(props, f"option.{o.id}"))
        for o in getattr(form_field, "options", [])
    )
    return FieldSpec(
        id=form_field.id, type=form_field.type or "string", label=form_field.label or "",
        labels=_localized(props, "label"), required="required" in rules, readonly="readonly" in rules,
        min=_number(rules.get("min")), max=_number(rules.get("max")),
        minlength=int(rules["minlength"]) if rules.get("minlength") else None,
        maxlength=int(rules["maxlength"]) if rules.get("maxlength") else None,
        options=options, default=form_field.default_value or None,
        choices=props.get("choices") if props.get("choices") in PEOPLE_CHOICES else None,
    )


def _task_meta(task_spec: KesuUserTask) -> TaskMeta:
    extensions = getattr(task_spec, "extensions", {}) or {}
    return TaskMeta(
        element_id=task_spec.bpmn_id, name=task_spec.bpmn_name or "", names=_localized(extensions, "name"),
        lane=task_spec.lane, candidate_groups=task_spec.candidate_groups,
        candidate_users=task_spec.candidate_users, assignee=task_spec.assignee,
        due_date=task_spec.due_date, priority=task_spec.priority, form_key=task_spec.form.key or None,
        fields=tuple(_field_spec(f) for f in task_spec.form.fields),
        pauses_sla=extensions.get("sla", "").strip().lower() == "pause",
    )


def _flows(tree: etree._ElementTree) -> dict[tuple[str, str], Flow]:
    flows = {}
    for node in tree.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        condition = node.find(f"{{{BPMN_NS}}}conditionExpression")
        text = condition.text.strip() if condition is not None and condition.text else None
        flow = Flow(node.get("id"), node.get("name") or "", node.get("sourceRef"), node.get("targetRef"), text,
                    _properties(node).get("reopen", "").strip().lower() == "true")
        flows[(flow.source, flow.target)] = flow
    return flows


def _element_names(tree: etree._ElementTree) -> dict[str, dict[str, str]]:
    """Each named element's name ('' key) and its translations from `name:<locale>` camunda properties."""
    names: dict[str, dict[str, str]] = {}
    for node in tree.iter(f"{{{BPMN_NS}}}*"):
        if node.get("id") and node.get("name"):
            names[node.get("id")] = {"": node.get("name"), **_localized(_properties(node), "name")}
    return names


def _properties(node: etree._Element) -> dict[str, str]:
    """An element's camunda properties (its extension properties in the modeler), by name."""
    found = node.findall(f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA_MODEL_NS}}}properties/"
                         f"{{{CAMUNDA_MODEL_NS}}}property")
    return {p.get("name"): p.get("value") or "" for p in found if p.get("name")}


def name_in(names: dict[str, dict[str, str]], element_id: str | None, locale: str) -> str:
    """An element's name in `locale`, else its default name, else its id."""
    found = names.get(element_id or "", {})
    return found.get(locale) or found.get("") or (element_id or "")


def executable_process_ids(tree: etree._ElementTree) -> list[str]:
    return [p.get("id") for p in tree.iter(f"{{{BPMN_NS}}}process") if p.get("isExecutable") == "true"]


def _decision_refs(tree: etree._ElementTree) -> dict[str, str]:
    return {node.get("id"): node.get(f"{{{CAMUNDA_MODEL_NS}}}decisionRef", "")
            for node in tree.iter(f"{{{BPMN_NS}}}businessRuleTask")}


def _closures(tree: etree._ElementTree) -> dict[str, str]:
    """Each end event's `closure` property (normal, invalid, abnormal); other values are left out (normal)."""
    found = {node.get("id"): _properties(node).get("closure", "").strip().lower()
             for node in tree.iter(f"{{{BPMN_NS}}}endEvent")}
    return {element_id: kind for element_id, kind in found.items() if kind in CLOSURES}


def compile_process(tree: etree._ElementTree, digest: str, filename: str = "diagram.bpmn",
                    decisions: Sequence[etree._ElementTree] | None = None) -> CompiledProcess:
    """Parse an already safely-loaded diagram; raises SpiffWorkflow's ValidationException on errors.

    `decisions` are the DMN documents its business rule tasks call; None checks the diagram alone.
    """
    parser = KesuParser(bind_decisions=decisions is not None)
    for number, decision in enumerate(decisions or (), 1):
        parser.add_dmn_xml(decision.getroot(), filename=f"decision-{number}.dmn")
    parser.add_bpmn_xml(tree, filename=filename)
    key = executable_process_ids(tree)[0]
    spec = parser.get_spec(key)
    subprocess_specs = parser.get_subprocess_specs(key)
    tasks = {
        t.bpmn_id: _task_meta(t)
        for t in [*spec.task_specs.values(), *(s for sp in subprocess_specs.values() for s in sp.task_specs.values())]
        if isinstance(t, KesuUserTask)
    }
    return CompiledProcess(
        key=key, name=spec.description or key, content_hash=digest, spec=spec,
        subprocess_specs=subprocess_specs, tasks=tasks, flows=_flows(tree), element_names=_element_names(tree),
        lanes=frozenset(lane.get("id") for lane in tree.iter(f"{{{BPMN_NS}}}lane")),
        decision_refs=_decision_refs(tree), closures=_closures(tree),
    )


class SpecCache:
    """Parsed specs by content hash: each published version is parsed once per process."""

    def __init__(self, size: int = 256) -> None:
        self._items: LRUCache[str, CompiledProcess] = LRUCache(size)
        self._lock = threading.Lock()

    def get(self, digest: str, xml: Callable[[], str],
            decisions: Callable[[], Iterable[str]] = tuple) -> CompiledProcess:
        """The parsed spec for a content hash; `xml()` and `decisions()` (the DMN documents it calls) are
        called only when it is not cached yet."""
        with self._lock:
            found = self._items.get(digest)
        if found is not None:
            return found
        compiled = compile_process(load_xml(xml().encode("utf-8")), digest,
                                   decisions=[load_xml(dmn.encode("utf-8")) for dmn in decisions()])
        with self._lock:
            self._items[digest] = compiled
        return compiled
