"""The words page scripts show, translated on the server and handed over in their page config."""
from __future__ import annotations

from flask_babel import gettext as _


def modeler_texts() -> dict[str, str]:
    """The modeler page's own words (bpmn-js and the properties panel carry their own dictionaries)."""
    return {
        "no_problems": _("No problems found."),
        "saving": _("Saving…"),
        "saved": _("Saved."),
        "download_mine": _("Download my version"),
        "load_theirs": _("Load their version"),
        "checking": _("Checking…"),
        "published": _("Published."),
        "view_versions": _("See the versions"),
        "not_published": _("The diagram was not published:"),
        "test_run_refused": _("The test run could not start:"),
        "network_error": _("The server could not be reached; nothing was lost, try again."),
    }


def viewer_texts() -> dict[str, str]:
    """The diff, export and decision-table pages' own words."""
    return {
        "added": _("Added"),
        "removed": _("Removed"),
        "changed": _("Changed"),
        "layout": _("Moved or resized"),
        "no_differences": _("No differences."),
        "diagrams_not_loaded": _("The diagrams could not be loaded:"),
        "table_not_loaded": _("The decision table could not be loaded:"),
        "drd": _("Requirements diagram"),
        "checking": _("Checking…"),
        "view_versions": _("See the versions"),
        "not_published": _("The decision table was not published:"),
        "network_error": _("The server could not be reached; nothing was lost, try again."),
    }
