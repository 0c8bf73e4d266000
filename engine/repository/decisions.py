"""DMN decision tables: check them before they are published, and publish them as numbered versions.

A decision table is versioned like a diagram, per company and decision key. The key is the id of the
file's one `<decision>` (SpiffWorkflow parses one decision per DMN document, so Kesu keeps one per file).
Publishing a new version pins it into a new version of every procedure that calls the table.
"""
from __future__ import annotations

import ast
import keyword
from dataclasses import dataclass
from functools import lru_cache

import sqlalchemy as sa
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS
from SpiffWorkflow.dmn.specs.model import DecisionTable
from sqlalchemy.orm import Session

from engine.records import DecisionVersion, ProcessVersion
from engine.repository import publishing
from engine.repository.specs import KesuParser, content_hash
from engine.repository.xmlload import DiagramError, Problem, load_xml
from engine.runtime.dmn import HIT_POLICIES, entry_source
from engine.runtime.restricted import SandboxError, compile_expression

FEEL_LITERALS = {"true": "True", "false": "False", "null": "None"}


@dataclass(frozen=True)
class DecisionInfo:
    """What publishing needs to know about a checked DMN document."""

    key: str
    name: str
    content_hash: str


@lru_cache(maxsize=len(SCHEMAS))
def _schema(namespace: str) -> BpmnValidator:
    return BpmnValidator(SCHEMAS[namespace])


def _document_problems(tree: etree._ElementTree) -> list[Problem]:
    """Not DMN 1.1-1.3, not valid against its schema, or not exactly one decision holding a decision table."""
    root = tree.getroot()
    namespace = etree.QName(root).namespace
    if namespace not in SCHEMAS or etree.QName(root).localname != "definitions":
        return [(None, "this is not a DMN 1.1, 1.2 or 1.3 file (the root element must be dmn:definitions)")]
    validator = _schema(namespace).validator
    if not validator.validate(tree):
        return [(None, f"line {e.line}: {e.message}") for e in validator.error_log]
    decisions = root.findall(f"{{{namespace}}}decision")
    if len(decisions) != 1:
        return [(None, f"a DMN file must hold exactly one decision, found {len(decisions)}; "
                       "put each decision table in a file of its own")]
    if decisions[0].find(f"{{{namespace}}}decisionTable") is None:
        return [(decisions[0].get("id"), "only decision tables are supported, and this decision has none")]
    return []


def _python_problem(source: str) -> str | None:
    """Why an expression cannot run in the sandbox, in the words a process owner can act on."""
    try:
        names = {node.id for node in ast.walk(ast.parse(source.strip(), mode="eval")) if isinstance(node, ast.Name)}
    except SyntaxError as error:
        return f"not valid Python: {error.msg}"
    feel = sorted(names & FEEL_LITERALS.keys())
    if feel:
        return f"{', '.join(feel)} is FEEL; Kesu expressions are Python: write " + \
            ", ".join(FEEL_LITERALS[name] for name in feel)
    try:
        compile_expression(source)
    except SandboxError as error:
        return f"not allowed in the sandbox: {error}"
    return None


def _hit_policy_problems(decision_id: str, table_node: etree._Element) -> list[Problem]:
    """SpiffWorkflow ignores aggregations and has no notion of priorities or output order: refuse them."""
    policy = (table_node.get("hitPolicy") or "UNIQUE").upper()
    aggregation = table_node.get("aggregation")
    if policy not in HIT_POLICIES:
        return [(decision_id, f"decision {decision_id}: hit policy {policy} is not supported "
                              f"(use {', '.join(HIT_POLICIES)})")]
    if aggregation:
        return [(decision_id, f"decision {decision_id}: hit policy COLLECT with {aggregation} is not supported "
                              "(use COLLECT without an aggregation)")]
    return []


def _expression_problems(decision_id: str, table: DecisionTable) -> list[Problem]:
    """Input expressions and rule entries that would fail in the sandbox, by input or rule and row."""
    problems: list[Problem] = []
    for column in table.inputs:
        message = _python_problem(column.expression) if (column.expression or "").strip() else "it has no expression"
        if message:
            problems.append((column.id, f"decision {decision_id}, input '{column.label or column.id}': {message}"))
    for rule in table.rules:
        where = f"decision {decision_id}, rule {rule.id} (row {rule.row_number})"
        for entry in rule.inputEntries:
            text = entry.lhs[0]
            message = _python_problem(entry_source(text)) if text is not None and text.strip() else None
            if message:
                problems.append((rule.id, f"{where}, input '{entry.input.label or entry.input.id}': {message}"))
        for entry in rule.outputEntries:
            message = _python_problem(entry.text) if (entry.text or "").strip() else None
            if message:
                problems.append((rule.id, f"{where}, output '{entry.output.name or entry.output.id}': {message}"))
    return problems


def _parsed_table(root: etree._Element, key: str) -> DecisionTable:
    """The decision table as SpiffWorkflow reads it (the same parse the engine runs)."""
    parser = KesuParser()
    parser.add_dmn_xml(root)
    document = parser.dmn_parsers[key]
    try:
        document.parse()
    except ValidationException as error:
        raise DiagramError([(error.id or key, str(error).split("\n")[0])]) from None
    return document.decision.decisionTables[0]


def _output_name_problems(decision_id: str, table: DecisionTable) -> list[Problem]:
    """Outputs become case data that conditions read by name, so each needs a Python name."""
    problems: list[Problem] = []
    for column in table.outputs:
        name = column.name or column.label or ""
        if not name.isidentifier() or keyword.iskeyword(name):
            problems.append((column.id, f"decision {decision_id}, output '{column.label or column.id}': give it a "
                                        "name that conditions can read, such as level or next_step"))
    return problems


def check_decision(data: bytes) -> DecisionInfo:
    """Everything a DMN document must pass to be published; raises DiagramError listing the problems."""
    tree = load_xml(data)
    problems = _document_problems(tree)
    if problems:
        raise DiagramError(problems)
    root = tree.getroot()
    namespace = etree.QName(root).namespace
    decision = root.find(f"{{{namespace}}}decision")
    key = decision.get("id")
    problems = _hit_policy_problems(key, decision.find(f"{{{namespace}}}decisionTable"))
    parsed = _parsed_table(root, key)
    problems += _output_name_problems(key, parsed) + _expression_problems(key, parsed)
    if problems:
        raise DiagramError(problems)
    return DecisionInfo(key=key, name=decision.get("name") or key, content_hash=content_hash(data))


def latest_decision(session: Session, company_id: int, key: str) -> DecisionVersion | None:
    """The newest published version of one decision table, if it was ever published."""
    return session.scalar(sa.select(DecisionVersion).where(
        DecisionVersion.company_id == company_id, DecisionVersion.decision_key == key)
        .order_by(DecisionVersion.version.desc()).limit(1))


def publish_decision(session: Session, company_id: int, xml: bytes, user_id: int | None,
                     note: str = "") -> tuple[DecisionVersion, list[ProcessVersion]]:
    """Check and publish a decision table, and give every procedure calling it a version that uses it.

    The same content published again returns the existing version and changes no procedure.
    """
    info = check_decision(xml)
    existing = session.scalar(sa.select(DecisionVersion).where(
        DecisionVersion.company_id == company_id, DecisionVersion.decision_key == info.key,
        DecisionVersion.content_hash == info.content_hash))
    if existing is not None:
        return existing, []
    previous = latest_decision(session, company_id, info.key)
    decision = DecisionVersion(company_id=company_id, decision_key=info.key, name=info.name,
                               version=previous.version + 1 if previous else 1, content_hash=info.content_hash,
                               dmn_xml=xml.decode("utf-8"), note=note, published_by_id=user_id)
    session.add(decision)
    session.flush()
    return decision, publishing.pin_decision(session, decision, user_id)
