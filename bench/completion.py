"""What one task completion costs, through the API (POST /api/v1/tasks/<id>/complete) and through the task page
(POST /tasks/<id>), and what one API start costs (POST /api/v1/processes/<key>/instances), on SQLite: SQL
statements and workflow deserializations, then time.

`python -m bench.completion [--cases N] [--statements] [--timed N]` walks N straight-path cases each way (10 tasks a
case) and registers 10 N complaints through the API, and prints, per step, the statements (all, and the reads of
task and instance rows) and the deserializations, as the median and the maximum over the steps (a SQLAlchemy
`before_cursor_execute` listener and a wrapper around `engine.runtime.serializer.loads` count them); `--statements`
lists the statements of one step each way.
`--timed N` then runs part (b) of `python -m bench` on SQLite alone (engine and HTTP completions, N cases each), so a
change to the step can be timed without the whole benchmark.
"""
from __future__ import annotations

import argparse
import re
import statistics
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from bench import report, world
from bench.__main__ import QUICK, measure_persisted
from bench.persisted import api_headers, open_background_cases, straight_steps
from bench.procedure import COMPLAINT, STRAIGHT
from bench.world import PASSWORD, ReadyTask, World
from engine.runtime import serializer

CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
PROCESS_KEY = "complaint_standard"  # the standard procedure bench.world publishes
T = TypeVar("T")
LABEL = 43  # the width of the table's first column
ROW_READ = re.compile(r"^\s*SELECT\b.*\bFROM (inbox_tasks|instances)\b", re.DOTALL | re.IGNORECASE)


@dataclass
class Tally:
    """What the completions of one kind cost, one entry per completion."""

    label: str
    statements: list[int] = field(default_factory=list)
    row_reads: list[int] = field(default_factory=list)
    loads: list[int] = field(default_factory=list)
    example: list[str] = field(default_factory=list)  # the statements of the first completion counted

    def line(self) -> str:
        def spread(values: list[int]) -> str:
            return f"{statistics.median(values):>5.1f} / {max(values):>3}"
        return (f"{self.label:<{LABEL}} {len(self.loads):>5}  {spread(self.statements)}  {spread(self.row_reads)}  "
                f"{spread(self.loads)}")


@dataclass
class Count:
    """What ran while `counting` watched: the statements, and how many workflows were deserialized."""

    statements: list[str] = field(default_factory=list)
    loads: int = 0

    @property
    def row_reads(self) -> int:
        """The statements that read task (inbox) or case (instance) rows."""
        return sum(1 for statement in self.statements if ROW_READ.match(statement))


@contextmanager
def counting(database: sa.Engine) -> Iterator[Count]:
    """Count the statements run on `database` and the workflow deserializations made while the block runs."""
    count = Count()
    original = serializer.loads

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        count.statements.append(statement)

    def counted_loads(*args: Any, **kwargs: Any) -> Any:
        count.loads += 1
        return original(*args, **kwargs)

    sa.event.listen(database, "before_cursor_execute", on_execute)
    serializer.loads = counted_loads
    try:
        yield count
    finally:
        serializer.loads = original
        sa.event.remove(database, "before_cursor_execute", on_execute)


def form_text(value: Any) -> str:
    """A JSON answer as a browser would post it."""
    return {True: "true", False: "false"}.get(value, str(value)) if isinstance(value, bool) else str(value)


def tally(app_world: World, label: str, steps: Iterable[T], post: Callable[[T], Any]) -> Tally:
    """Count what each POST of `steps` costs."""
    result = Tally(label)
    for step in steps:
        with counting(app_world.database.engine) as count:
            response = post(step)
        if response.status_code not in (200, 201, 303):
            raise RuntimeError(f"HTTP {response.status_code} on {step}: {response.get_data(as_text=True)}")
        result.statements.append(len(count.statements))
        result.row_reads.append(count.row_reads)
        result.loads.append(count.loads)
        result.example = result.example or count.statements
    return result


def api_tally(app_world: World, cases: int) -> Tally:
    client = app_world.app.test_client()
    headers = api_headers(client, app_world)
    return tally(app_world, "API  POST /api/v1/tasks/<id>/complete", straight_steps(app_world, cases),
                 lambda task: client.post(f"/api/v1/tasks/{task.id}/complete", json={"data": STRAIGHT[task.element_id]},
                                          headers=headers[task.user]))


def api_start_tally(app_world: World, starts: int) -> Tally:
    """Register `starts` complaints through the API, as an integration does."""
    client = app_world.app.test_client()
    headers = api_headers(client, app_world)["service"]
    path = f"/api/v1/processes/{PROCESS_KEY}/instances"
    return tally(app_world, "API  POST /api/v1/processes/<key>/instances", range(starts),
                 lambda _: client.post(path, json={"data": COMPLAINT}, headers=headers))


def page_tally(app_world: World, cases: int) -> Tally:
    browsers = {}
    for key, email in app_world.emails.items():
        browsers[key] = client = app_world.app.test_client()
        client.post("/login", data={"email": email, "password": PASSWORD,
                                    "csrf_token": CSRF.search(client.get("/login").get_data(as_text=True)).group(1)})
    tokens = {key: CSRF.search(client.get("/").get_data(as_text=True)).group(1) for key, client in browsers.items()}

    def post(task: ReadyTask) -> Any:
        answers = {name: form_text(value) for name, value in STRAIGHT[task.element_id].items()}
        return browsers[task.user].post(f"/tasks/{task.id}", data={**answers, "csrf_token": tokens[task.user]})
    return tally(app_world, "page POST /tasks/<id>", straight_steps(app_world, cases), post)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.completion", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=3,
                        help="straight-path cases each way (10 completions each), and 10 API starts a case")
    parser.add_argument("--statements", action="store_true", help="list the statements of one step each way")
    parser.add_argument("--timed", type=int, default=0, metavar="N", help="then time N cases each way, as bench (b)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kesu-completion-") as folder:
        app_world = world.build(f"sqlite:///{Path(folder) / 'counted.db'}")
        open_background_cases(app_world)
        tallies = [api_tally(app_world, args.cases), page_tally(app_world, args.cases),
                   api_start_tally(app_world, 10 * args.cases)]
        world.dispose(app_world)
        timings = measure_persisted(replace(QUICK, engine_cases=args.timed, http_cases=args.timed), Path(folder),
                                    None, "not measured here") if args.timed else []
    print(f"{'per step (median / max)':<{LABEL}} {'steps':>5}  {'statements':>11}  {'task+case reads':>11}  "
          f"{'deserializations':>11}")
    for result in tallies:
        print(result.line())
        if args.statements:
            print("\n".join(f"    {' '.join(s.split())[:150]}" for s in result.example))
    if timings:
        print(report.header())
        print("\n".join(report.row(r) for r in timings))


if __name__ == "__main__":
    main()
