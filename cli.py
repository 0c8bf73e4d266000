"""`flask --app app kesu ...`: create companies and users, publish procedures, load the demo."""
from __future__ import annotations

import contextlib
import signal
import threading
from datetime import datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from accounts.models import Role
from accounts.provisioning import AccountError, company_named, create_company, create_user
from demo import load_demo
from engine.history.anchor import AnchorProblem
from engine.history.audit import ChainReport
from engine.repository import decisions, publishing
from engine.repository.xmlload import DiagramError
from web.evidence import span
from worker import embedded, jobs

kesu = AppGroup("kesu", help="Kesu administration.")
company_cli = AppGroup("company", help="Companies.")
user_cli = AppGroup("user", help="Users.")
audit_cli = AppGroup("audit", help="The tamper-evident event history and its anchor.")
kesu.add_command(company_cli)
kesu.add_command(user_cli)
kesu.add_command(audit_cli)


def _database():
    return current_app.extensions["kesu.db"]


@company_cli.command("create")
@click.argument("name")
@click.option("--timezone", default="Asia/Shanghai", show_default=True)
def company_create(name: str, timezone: str) -> None:
    """Create a company."""
    try:
        with _database().session() as s:
            company = create_company(s, name, timezone)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created company {company.name} (id {company.id})")


@user_cli.command("create")
@click.option("--company", "company_name", required=True)
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--group", "groups", multiple=True, help="Group to join; created in the company if missing.")
@click.option("--password", required=True)
@click.option("--name", default=None)
def user_create(company_name: str, email: str, role: str, groups: tuple[str, ...], password: str,
                name: str | None) -> None:
    """Create a user in a company."""
    try:
        with _database().session() as s:
            company = company_named(s, company_name)
            if company is None:
                raise AccountError(f"no company called {company_name!r}")
            user = create_user(s, company, email, role, password, groups, name)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created {user.role} {user.email} in {company_name}")


def _publish_file(session, company_id: int, path: Path, note: str) -> list[str]:
    """Publish a .dmn decision table (and new versions of the procedures calling it) or a BPMN procedure."""
    if path.suffix.lower() == ".dmn":
        table, callers = decisions.publish_decision(session, company_id, path.read_bytes(), None, note)
        return [f"published decision table {table.decision_key} version {table.version}",
                *(f"published {v.process_key} version {v.version} using it" for v in callers)]
    version = publishing.publish(session, company_id, path.read_bytes(), None, note)
    return [f"published {version.process_key} version {version.version}"]


@kesu.command("publish")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--company", "company_name", required=True)
@click.option("--note", default="")
def publish(path: Path, company_name: str, note: str) -> None:
    """Publish a BPMN file as the company's next version of its procedure, or a DMN file as the next version
    of its decision table."""
    try:
        with _database().session() as s:
            company = company_named(s, company_name)
            if company is None:
                raise click.ClickException(f"no company called {company_name!r}")
            lines = _publish_file(s, company.id, path, note)
    except DiagramError as error:
        raise click.ClickException("\n".join(f"{el or 'diagram'}: {msg}" for el, msg in error.problems)) from None
    click.echo("\n".join(lines))


@kesu.command("demo")
def demo() -> None:
    """Load the demo companies, users and procedure (safe to run again) and print the logins."""
    with _database().session() as s:
        logins = load_demo(s, current_app.extensions["kesu.engine"])
    click.echo(logins)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def describe(report: ChainReport) -> str:
    """One broken history, naming what the anchor proves was removed."""
    case, anchored = f"instance {report.instance_id} ({report.business_key})", report.anchored
    if anchored is None:
        return f"{case}: event {report.broken_at} {report.problem}"
    if report.problem == "missing":
        return (f"{case} is missing from the database but was anchored with {anchored.events} events "
                f"on {_when(anchored.at)}")
    if report.problem == "replaced":
        return (f"{case}: event {report.broken_at} is not the one anchored on {_when(anchored.at)} "
                f"(the history was cut back and continued)")
    missing = span(report.broken_at, anchored.events)
    what = f"events {missing} are" if "–" in missing else f"event {missing} is"
    return (f"{case}: {what} missing after the anchored checkpoint of {_when(anchored.at)} "
            f"(the case had {anchored.events} events then)")


def describe_damage(problem: AnchorProblem, path: Path) -> str:
    """One kind of damage to the anchor file."""
    lines = span(problem.first, problem.last)
    lines = f"lines {lines}" if "–" in lines else f"line {lines}"
    what = "not what was signed" if problem.kind == "altered" else "missing"
    since = f" (the last written {_when(problem.at)})" if problem.at else ""
    return f"anchor {path}: {lines} {what}{since}"


@audit_cli.command("verify")
@click.option("--company", "company_name", default=None, help="Only this company's cases.")
@click.option("--instance", "instance_id", type=int, default=None, help="Only this instance.")
def audit_verify(company_name: str | None, instance_id: int | None) -> None:
    """Recompute the chains of seals and compare them with the anchor; print each case whose history does not
    match, and any damage to the anchor file, and exit 1 if there is any."""
    auditor = current_app.extensions["kesu.engine"].auditor
    with _database().session() as s:
        company_id = _company_id(s, company_name) if company_name is not None else None
        reports = auditor.verify(s, company_id, instance_id)
        damage = auditor.anchor_problems(s)
    if instance_id is not None and not reports:
        raise click.ClickException(f"no instance {instance_id}" + (f" in {company_name}" if company_name else ""))
    broken = [report for report in reports if not report.intact]
    for line in [*map(describe, broken), *(describe_damage(problem, auditor.anchor.path) for problem in damage)]:
        click.echo(line)
    verdict = f"{len(broken)} broken" if broken else "intact"
    click.echo(f"{len(reports)} cases, {sum(r.events for r in reports)} events: {verdict}"
               + ("; the anchor file is damaged" if damage else ""))
    if broken or damage:
        click.get_current_context().exit(1)


@audit_cli.command("checkpoint")
def audit_checkpoint() -> None:
    """Anchor the chain heads that moved since the last checkpoint now (the worker does it every minute), e.g.
    before a backup."""
    engine = current_app.extensions["kesu.engine"]
    anchored = engine.auditor.checkpoint(_database().sessionmaker, engine.clock())
    click.echo(f"anchored {anchored} cases in {engine.auditor.anchor.path}")


@kesu.command("worker")
@click.option("--poll", default=embedded.POLL, show_default=True,
              help="Longest sleep in seconds: how soon a timer created by another process is noticed.")
def worker(poll: float) -> None:
    """Fire due timers, watch SLA clocks, send mail and anchor the histories' heads in the foreground until Ctrl-C
    (the loop `make run` runs in a background thread)."""
    click.echo("firing due timers, watching SLA clocks, sending mail, anchoring the history; Ctrl-C stops")
    stop = stop_on_signals()
    with contextlib.suppress(KeyboardInterrupt):  # a second signal: stop mid-pass (each case is its own transaction)
        embedded.run(jobs.for_app(current_app), current_app.extensions["kesu.engine"].clock, stop, poll)
    click.echo("stopped")


def stop_on_signals() -> threading.Event:
    """An event Ctrl-C (SIGINT) or a service manager's SIGTERM sets: the worker stops after the pass it is in; a second
    signal stops it at once. Set explicitly, since a process started in the background of a shell inherits SIGINT
    ignored, and Python's default handler for SIGTERM kills without a word."""
    stop = threading.Event()

    def handle(signum: int, _frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handle)
    return stop


def _company_id(session, name: str) -> int:
    """The named company's id, or a clear error for the command line."""
    company = company_named(session, name)
    if company is None:
        raise click.ClickException(f"no company called {name!r}")
    return company.id


def register(app: Flask) -> None:
    app.cli.add_command(kesu)
