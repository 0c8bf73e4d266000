"""Load untrusted diagram XML safely: size-limited, no DTD, no entities, no network."""
from __future__ import annotations

from lxml import etree

MAX_DIAGRAM_BYTES = 2 * 1024 * 1024


class DiagramError(Exception):
    """The diagram cannot be accepted; `problems` lists (element id or None, message)."""

    def __init__(self, problems: list[tuple[str | None, str]]) -> None:
        super().__init__("; ".join(f"{element or 'diagram'}: {message}" for element, message in problems))
        self.problems = problems


_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
    remove_comments=False,
)


def load_xml(data: bytes) -> etree._ElementTree:
    """Parse diagram bytes, refusing oversized input, DOCTYPEs (XXE, entity bombs) and malformed XML."""
    if len(data) > MAX_DIAGRAM_BYTES:
        raise DiagramError([(None, f"the file is larger than {MAX_DIAGRAM_BYTES // 1024} KiB")])
    if b"<!DOCTYPE" in data[:4096].upper() or b"<!ENTITY" in data.upper():
        raise DiagramError([(None, "DOCTYPE and entity declarations are not allowed in a diagram")])
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as error:
        raise DiagramError([(None, f"the file is not well-formed XML: {error}")]) from None
    return etree.ElementTree(root)
