"""Load untrusted diagram XML safely: size-limited, no DTD, no entities, no network."""
from __future__ import annotations

from lxml import etree

MAX_DIAGRAM_BYTES = 2 * 1024 * 1024
Problem = tuple[str | None, str]  # (the id of the element it is about, or None; the message)


class DiagramError(Exception):
    """The diagram cannot be accepted; `problems` lists (element id or None, message)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{element or 'diagram'}: {message}" for element, message in problems))
        self.problems = problems


_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
    remove_comments=False,
)


def load_xml(data: bytes) -> etree._ElementTree:
    """Parse diagram bytes, refusing oversized input, other encodings than UTF-8, DTDs (XXE, entity bombs)
    and malformed XML."""
    if len(data) > MAX_DIAGRAM_BYTES:
        raise DiagramError([(None, f"the file is larger than {MAX_DIAGRAM_BYTES // 1024} KiB")])
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise DiagramError([(None, "the file is not UTF-8 encoded; save it as UTF-8 and upload it again")]) from None
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as error:
        raise DiagramError([(None, f"the file is not well-formed XML: {error}")]) from None
    tree = etree.ElementTree(root)
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise DiagramError([(None, "DOCTYPE and entity declarations are not allowed in a diagram")])
    return tree
