"""Service-level agreements: the policies process owners set per grade and category, and the clocks they run
on each complaint.

A policy gives a response target (until an employee first completes a task of the case) and a resolution target
(until the case closes), each in business time on the company's calendar ('5 working days') or calendar time
(ISO 8601, 'PT24H'); a warning at a fraction of the target; and a group the case escalates to on a breach.
Policies are versioned: saving one adds a version, and a clock keeps the version it started on unless the case's
grade or category later selects another policy.

Clocks start when the case is registered. They are updated by every step (an engine observer, in the step's
transaction): the case's grade is usually known only after grading, so the matching policy may change; a task
the diagram marks `sla: pause` (waiting for the customer) stops the clocks while it is open and moves the
deadlines on by the time it took. The background worker (`check_clocks`) finds clocks whose warning or deadline
has come with one indexed query on `check_at`, marks them and notifies. Warnings, breaches and acknowledgements
are sealed in the case's history (Engine.note), so auditors see when a deadline was missed and what the
next level up did about it.

The package is cut by concern: `models` (tables), `targets` (deadline arithmetic), `policies` (versions and the
in-force cache), `clocks` (the step observer), `checks` (the worker's warnings and breaches), `escalations`
(reading clocks, acknowledging breaches). Callers use the names below.
"""
from __future__ import annotations

from complaints.sla.checks import check_clocks, next_check
from complaints.sla.clocks import on_step
from complaints.sla.escalations import acknowledge, clocks_of, escalations_for
from complaints.sla.models import EVENT_TYPES, KINDS, SlaClock, SlaPolicy
from complaints.sla.policies import current_policies, history, policy_for, save_policy
from complaints.sla.targets import target_problem

__all__ = ["EVENT_TYPES", "KINDS", "SlaClock", "SlaPolicy", "acknowledge", "check_clocks", "clocks_of",
           "current_policies", "escalations_for", "history", "next_check", "on_step", "policy_for", "save_policy",
           "target_problem"]
