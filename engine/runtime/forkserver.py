"""What the script evaluators' forkserver imports before it forks any evaluator (engine.runtime.evaluator): the
evaluator itself, once, so that each evaluator starts as a light copy of this small process.

multiprocessing would also re-run the server's main script in every evaluator, so that functions defined there
could be unpickled. An evaluator needs none (its target and its requests come from engine.*), and re-running the
entry script of gunicorn, Celery or Flask per evaluator is slow and heavy, and impossible for `python -`. This
module is imported only in the forkserver, so only it and its evaluators skip that step.
"""
from multiprocessing import spawn

import engine.runtime.evaluator  # noqa: F401 - what every evaluator runs

spawn._fixup_main_from_path = spawn._fixup_main_from_name = lambda name: None  # type: ignore[attr-defined]
