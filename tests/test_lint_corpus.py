"""The modeler's live lint and the server's check agree: one corpus of small diagrams (tests/lint_corpus) with
the findings expected of each, run through engine/repository/validation.py here and through the page's bpmnlint
config in node. The Python check is the reference; the JS rules exist so an owner sees a finding on the element
while drawing, before the debounced server check answers, and this corpus is what keeps them its faithful copy."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.repository.validation import check_diagram
from engine.repository.xmlload import DiagramError

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).parent / "lint_corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
ESBUILD = ROOT / "node_modules" / ".bin" / "esbuild"


def as_set(findings: list[list[str]]) -> set[tuple[str, str]]:
    """Findings without their order (each side walks the diagram its own way)."""
    return {(element, message) for element, message in findings}


def python_findings(diagram: str) -> list[list[str]]:
    try:
        check_diagram((CORPUS / f"{diagram}.bpmn").read_bytes(), EXPECTED["groups"])
    except DiagramError as error:
        return [[element, message] for element, message in error.problems]
    return []


def lint_in_node(bundle_dir: Path) -> dict:
    """The page's lint run by node over the whole corpus (bundled by esbuild into `bundle_dir`)."""
    node = shutil.which("node")
    if node is None or not ESBUILD.exists():
        pytest.fail("node and node_modules are needed to run the modeler's lint: run `make setup`", pytrace=False)
    bundle = bundle_dir / "lint_corpus.js"
    subprocess.run([str(ESBUILD), str(CORPUS / "lint_corpus.js"), "--bundle", "--platform=node",
                    "--log-level=warning", f"--outfile={bundle}"], check=True, cwd=ROOT)
    answer = subprocess.run([node, str(bundle), str(CORPUS), json.dumps(EXPECTED["groups"])], check=True,
                            capture_output=True, text=True)
    return json.loads(answer.stdout)


@pytest.fixture(scope="module")
def js_lint(tmp_path_factory) -> dict:
    return lint_in_node(tmp_path_factory.mktemp("lint"))


@pytest.mark.parametrize("diagram", sorted(EXPECTED["diagrams"]))
def test_server_check_finds_what_the_corpus_expects(diagram):
    assert as_set(python_findings(diagram)) == as_set(EXPECTED["diagrams"][diagram])


@pytest.mark.parametrize("diagram", sorted(EXPECTED["diagrams"]))
def test_modeler_lint_finds_what_the_corpus_expects(js_lint, diagram):
    found = [[element, message] for _rule, element, message in js_lint["findings"][diagram]]
    assert as_set(found) == as_set(EXPECTED["diagrams"][diagram])


def test_corpus_has_a_diagram_for_every_modeler_lint_rule(js_lint):
    fired = {rule for findings in js_lint["findings"].values() for rule, _element, _message in findings}
    assert set(js_lint["rules"]) <= fired


def test_corpus_holds_exactly_the_listed_diagrams():
    assert {path.stem for path in CORPUS.glob("*.bpmn")} == set(EXPECTED["diagrams"])
