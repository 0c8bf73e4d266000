"""Mails are written without the web app: their links are the pages' own URLs, and their texts come from the same
gettext catalogs the pages use."""
from __future__ import annotations

import pytest

from notifications.letters import PAGES, Entry, Language, Letter, links

BASE_URL = "https://kesu.example.cn/app"


@pytest.mark.parametrize("endpoint, values", [("notifications.preferences", {}),
                                              ("notifications.follow", {"notification_id": 7}),
                                              ("inbox.task", {"task_id": "0b6c1a8e-2f4d-4c51-9a7e-3d2f1c0b9a88"})])
def test_mail_links_build_the_urls_the_apps_routes_build(app, endpoint, values):
    """Each page a mail links to is routed by the app at the path the mail uses (no drift between the two)."""
    base = app.url_map.bind("kesu.example.cn", script_name="/app", url_scheme="https")
    assert links(BASE_URL).build(endpoint, values, force_external=True) == base.build(endpoint, values,
                                                                                       force_external=True)


def test_every_mailed_page_is_listed_once():
    assert sorted(rule.endpoint for rule in PAGES.iter_rules()) == ["inbox.task", "notifications.follow",
                                                                    "notifications.preferences"]


def test_a_language_translates_from_the_pages_catalog_and_fills_in_values():
    assert Language("zh_Hans")("Hello %(name)s,", name="王") == "王，您好："
    assert Language("en")("Hello %(name)s,", name="Wang") == "Hello Wang,"


def test_the_html_of_a_letter_escapes_what_users_wrote():
    letter = Letter("subject", "<b>hi</b>", (("", (Entry("a <script>", "https://x/1"),)),), "footer", "https://x/s")
    html = letter.html("zh-Hans")
    assert "&lt;script&gt;" in html and "<script>" not in html and 'lang="zh-Hans"' in html
