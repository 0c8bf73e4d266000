"""(b) A full task completion through the Engine with persistence, and the same through the HTTP API.

Engine sample: one transaction that loads the instance, completes the task, saves state, inbox rows
and events, and commits. HTTP sample: POST /api/v1/tasks/<id>/complete on the Flask test client
(token check, form validation, the same engine step, and the JSON reply). Each run first opens some
other cases, so the inbox is not empty, and takes one case untimed to warm caches and connections.
"""
from __future__ import annotations

from collections.abc import Iterator

from bench.procedure import STRAIGHT
from bench.stats import Samples, timed
from bench.world import PASSWORD, ReadyTask, World

BACKGROUND_CASES = 20
NOTE = f"{BACKGROUND_CASES} other open cases"


def open_background_cases(world: World) -> None:
    for _ in range(BACKGROUND_CASES):
        world.register()


def straight_steps(world: World, cases: int) -> Iterator[ReadyTask]:
    """Every task of `cases` straight-through cases, one case after another."""
    for _ in range(cases):
        instance_id = world.register()
        while (task := world.ready(instance_id)) is not None:
            yield task


def complete(world: World, task: ReadyTask, answers: dict) -> tuple[float, float]:
    """One engine completion in its own committed transaction; (wall, CPU) milliseconds."""
    def step():
        with world.database.session() as s:
            world.engine.complete(s, task.id, world.actors[task.user], answers)
    with world.app.test_request_context():  # why: see World.register
        return timed(step)[1]


def engine_completions(world: World, label: str, cases: int) -> Samples:
    open_background_cases(world)
    for task in straight_steps(world, 1):
        complete(world, task, STRAIGHT[task.element_id])
    result = Samples(label, note=NOTE)
    for task in straight_steps(world, cases):
        result.add(complete(world, task, STRAIGHT[task.element_id]))
    return result


def api_headers(client, world: World) -> dict[str, dict[str, str]]:
    """Bearer headers per user key (not timed)."""
    headers = {}
    for key, email in world.emails.items():
        response = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
        headers[key] = {"Authorization": f"Bearer {response.get_json()['token']}"}
    return headers


def post_completion(client, headers: dict, task: ReadyTask) -> tuple[float, float]:
    """One HTTP completion; (wall, CPU) milliseconds. A refusal stops the benchmark: it would time an error."""
    response, sample = timed(lambda: client.post(f"/api/v1/tasks/{task.id}/complete",
                                                 json={"data": STRAIGHT[task.element_id]}, headers=headers[task.user]))
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code} completing {task.element_id}: "
                           f"{response.get_data(as_text=True)}")
    return sample


def http_completions(world: World, label: str, cases: int) -> Samples:
    open_background_cases(world)
    client = world.app.test_client()
    headers = api_headers(client, world)
    for task in straight_steps(world, 1):
        post_completion(client, headers, task)
    result = Samples(label, note=NOTE)
    for task in straight_steps(world, cases):
        result.add(post_completion(client, headers, task))
    return result
