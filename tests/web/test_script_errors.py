"""A failing diagram script, seen from the task page and the API: whatever it raises, overruns or kills, the
request answers with the error naming the element (the API with 422, the page by going back to the inbox
saying so), never with a 5xx, and the case is stopped for an admin. A script bomb does not freeze the server:
other people's pages are served while it runs. The modeler's live check refuses what can be seen statically."""
from __future__ import annotations

import html
import http.client
import json
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from conftest import PASSWORD
from engine.records import Instance
from sandboxing import RAISED, busy_evaluator, killing_the_busy_evaluator, must_return_within, scripted, start_scripted
from test_drafts import post_json, standard

FAILURES = {
    **{name: ("script", code, "compute", named) for name, (code, named) in RAISED.items()},
    "condition-bomb": ("condition", "10 ** 10 ** amount > 1", "gw_big", "time limit"),
}


def submit(channel: str, login, api, email: str, task_id: str) -> str:
    """Complete `prepare` with amount 10 on the task page or through the API; the error the user is shown."""
    if channel == "api":
        response = api(email).post(f"/tasks/{task_id}/complete", {"data": {"amount": 10}})
        assert response.status_code == 422, response.get_data(as_text=True)
        return response.get_json()["error"]
    page = login(email)
    response = page.post(f"/tasks/{task_id}", {"amount": "10"}, token_from=f"/tasks/{task_id}")
    assert response.status_code == 303, response.get_data(as_text=True)  # back to the inbox, which says why
    return html.unescape(page.get(response.headers["Location"]).get_data(as_text=True))


def stopped_with(database, instance_id: int) -> tuple[str, str | None, str | None]:
    with database.session() as s:
        instance = s.get(Instance, instance_id)
        return instance.status, instance.error_element, instance.error


@pytest.mark.parametrize("channel", ["page", "api"])
@pytest.mark.parametrize("where, code, element, named", FAILURES.values(), ids=FAILURES.keys())
def test_a_failing_script_answers_with_its_element_and_stops_the_case(
        database, engine, acme, login, api, channel, where, code, element, named):
    instance_id, task_id = start_scripted(database, engine, acme, scripted(**{where: code}), False)
    with must_return_within(30):
        shown = submit(channel, login, api, acme.email("quality"), task_id)
    status, error_element, error = stopped_with(database, instance_id)
    assert (status, error_element) == ("error", element)
    assert f"({element})" in error and named in error and error in shown


@pytest.mark.parametrize("channel", ["page", "api"])
def test_an_evaluator_killed_while_running_the_script_stops_the_case(database, engine, acme, login, api, channel):
    instance_id, task_id = start_scripted(database, engine, acme, scripted("while True:\n    pass"), True)
    with killing_the_busy_evaluator(engine) as killed, must_return_within(30):
        shown = submit(channel, login, api, acme.email("quality"), task_id)
    status, _, error = stopped_with(database, instance_id)
    assert killed and status == "error" and "(compute)" in error and "killed by SIGKILL" in error and error in shown


@pytest.mark.parametrize("replace, by, element, named", [
    (">valid<", ">10**10**10 > 1<", "flow_valid_yes", "10,000,000,000 digits"),
    ("callback_attempts = 0", "class Attempts:\n    count = 0", "reset_attempts", "class statements"),
    ("callback_attempts = 0", "callback_attempts = 'x' * 10**9", "reset_attempts", "1,000,000,000 characters"),
], ids=["power-tower", "class", "huge-text"])
def test_the_modelers_live_check_refuses_code_too_large_to_run(acme, login, replace, by, element, named):
    diagram = standard()
    assert replace in diagram
    errors = post_json(login(acme.email("owner")), "/procedures/check.json",
                       {"xml": diagram.replace(replace, by, 1)}).get_json()["errors"]
    assert [(e["element"], named in e["message"]) for e in errors] == [(element, True)]


# -- other people are served while a bomb runs -----------------------------------------------------------------

@pytest.fixture()
def served(app, database) -> Iterator[int]:
    """The app on 127.0.0.1 and a free port, served by threads as the dev server does; yields the port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="kesu-bomb-server", daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(timeout=10)


def request(port: int, method: str, path: str, body: dict | None = None, token: str | None = None
            ) -> tuple[int, dict | str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = connection.getresponse()
    text = response.read().decode("utf-8")
    connection.close()
    return response.status, json.loads(text) if response.getheader("Content-Type") == "application/json" else text


def test_the_login_page_is_served_while_a_bomb_runs_in_another_request(database, engine, acme, served):
    _, task_id = start_scripted(database, engine, acme, scripted(condition="10 ** 10 ** amount > 1"), False)
    status, answer = request(served, "POST", "/api/v1/auth/token", {"email": acme.email("quality"),
                                                                     "password": PASSWORD})
    assert status == 200
    order: list[str] = []
    bomb_status: list[int] = []

    def bomb() -> None:
        bomb_status.append(request(served, "POST", f"/api/v1/tasks/{task_id}/complete", {"data": {"amount": 10}},
                                   answer["token"])[0])
        order.append("bomb answered")
    bomber = threading.Thread(target=bomb, name="bomb", daemon=True)
    with must_return_within(60):
        bomber.start()
        busy_evaluator(engine)  # the bomb is running now
        login_status, page = request(served, "GET", "/login")
        order.append("login answered")
        bomber.join()
    assert login_status == 200 and "password" in page
    assert order == ["login answered", "bomb answered"] and bomb_status == [422]
