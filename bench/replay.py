"""(d) The auditor's replay page of a case with 50 and with 500 steps.

Each case goes round the reopen loop until it has the wanted number of steps (one step per completion, plus
the start). Timed: the replay itself re-executed (engine.history.replay.replay), and GET /complaints/<id>/replay on
the Flask test client: cold (the replay cache emptied first, so the page re-executes the case) and warm (the
replay cached, as for every view after the first while no event is appended). Both pages verify the case's
hash chain. The page carries every step, so stepping in the browser makes no further request.
"""
from __future__ import annotations

from functools import partial

import sqlalchemy as sa

from accounts import sessions
from accounts.models import User
from bench.loop import advance_to_loop, one_round
from bench.stats import Samples, timed
from bench.world import World
from engine.history import heatmap, replay
from engine.records import Event, Instance
from web import replay as replay_page
from web.auth import SESSION_SECRET

SIZES = (50, 500)
HEATMAP_CASES = 200


def _replay(session, engine, instance_id: int):
    """Replay one case in memory, its row read inside the timing as the page does."""
    return replay.replay(session, engine, session.get(Instance, instance_id))


def case_with_steps(world: World, steps: int) -> int:
    """A case taken round the reopen loop until it has at least `steps` steps (not timed)."""
    instance_id = advance_to_loop(world)
    while _steps(world, instance_id) < steps:
        one_round(world, instance_id)
    return instance_id


def _steps(world: World, instance_id: int) -> int:
    """The start and one step per completion (the loop claims nothing and no timer fires)."""
    with world.database.session() as s:
        return 1 + s.scalar(sa.select(sa.func.count()).select_from(Event)
                            .where(Event.instance_id == instance_id, Event.type == "task_completed"))


def signed_in(world: World, key: str):
    """A test client signed in as the world's user `key`, with a server-side session as the login page starts."""
    client = world.app.test_client()
    user_id = world.actors[key].user_id
    with world.database.session() as s:
        secret = sessions.begin(s, s.get(User, user_id), "bench", "127.0.0.1")
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"], session[SESSION_SECRET] = str(user_id), True, secret
    return client


def forget() -> None:
    """Empty every per-process cache of replays, their timelines and traces."""
    replay.CACHE.clear()
    replay_page.TIMELINES.clear()
    heatmap.TRACES.clear()


def run(world: World, samples: int) -> list[Samples]:
    client = signed_in(world, "auditor")
    rows = []
    for size in SIZES:
        instance_id = case_with_steps(world, size)
        steps = _steps(world, instance_id)
        engine_row = Samples(f"replay re-executed in memory, {size} steps", note=f"{steps} steps")
        cold = Samples(f"GET /complaints/<id>/replay, {size} steps, cold (re-executes)", note="chain verified")
        warm = Samples(f"GET /complaints/<id>/replay, {size} steps, warm (replay cached)", note="chain verified")
        page = f"/complaints/{instance_id}/replay"
        for _ in range(samples):
            with world.database.session() as s:
                engine_row.add(timed(partial(_replay, s, world.engine, instance_id))[1])
            forget()
            cold.add(_get(client, page))
            warm.add(_get(client, page))
        rows += [engine_row, cold, warm]
    return rows


def _get(client, path: str) -> tuple[float, float]:
    response, sample = timed(lambda: client.get(path))
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}")
    return sample


def heatmap_page(world: World, samples: int) -> list[Samples]:
    """GET /audit/ over HEATMAP_CASES complaints (half at the analysis, half one reopen round further), cold
    (every case re-executed) and warm (traces cached; the chains are verified in one query either way)."""
    for number in range(HEATMAP_CASES):
        instance_id = advance_to_loop(world)
        if number % 2:
            one_round(world, instance_id)
    client = signed_in(world, "auditor")
    cold = Samples(f"GET /audit/ (list + heatmap), {HEATMAP_CASES} cases, cold (re-executes each)")
    warm = Samples(f"GET /audit/ (list + heatmap), {HEATMAP_CASES} cases, warm (traces cached)")
    for _ in range(samples):
        forget()
        cold.add(_get(client, "/audit/"))
        warm.add(_get(client, "/audit/"))
    return [cold, warm]

