"""What the numbers were measured on: CPUs, Python, library and database versions."""
from __future__ import annotations

import os
import platform
import sqlite3
from importlib.metadata import version
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load() -> str:
    """The 1-minute load average: above the CPU count, other work shares the CPUs and inflates wall times."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


def describe(postgres_version: str | None) -> list[str]:
    return [
        f"machine     {os.cpu_count()} CPUs ({cpu_model()}), {platform.system()} {platform.release()}, "
        f"load average {load()} at start",
        f"software    Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"PostgreSQL {postgres_version or 'not measured'}, SpiffWorkflow {version('SpiffWorkflow')}, "
        f"SQLAlchemy {version('SQLAlchemy')}, Flask {version('Flask')}",
    ]
