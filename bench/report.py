"""The printed table: one line per measurement, then the ratios the issue sets targets for."""
from __future__ import annotations

from dataclasses import dataclass

from bench.stats import Samples

LABEL_WIDTH = 68


@dataclass(frozen=True)
class Skipped:
    """A measurement that was not taken, and why."""

    label: str
    reason: str


@dataclass(frozen=True)
class Ratio:
    label: str
    value: float  # of wall-time medians
    cpu: float | None = None  # of CPU-time medians
    target: float | None = None

    def verdict(self) -> str:
        if self.target is None:
            return ""
        return "met" if self.value < self.target else "MISSED"


def ratio_of(label: str, top: Samples, bottom: Samples, target: float | None = None) -> Ratio:
    return Ratio(label, top.median / bottom.median, top.cpu_median / bottom.cpu_median, target)


def section(title: str) -> str:
    return f"\n{title}"


def header() -> str:
    return f"  {'':<{LABEL_WIDTH}} {'n':>5} {'median ms':>10} {'p95 ms':>9} {'cpu ms':>8}  note"


def row(item: Samples | Skipped) -> str:
    if isinstance(item, Skipped):
        return f"  {item.label:<{LABEL_WIDTH}} {'-':>5} {'-':>10} {'-':>9} {'-':>8}  {item.reason}"
    return (f"  {item.label:<{LABEL_WIDTH}} {len(item.values):>5} {item.median:>10.2f} "
            f"{item.p95:>9.2f} {item.cpu_median:>8.2f}  {item.note}")


def ratio_header() -> str:
    return f"  {'':<{LABEL_WIDTH}} {'wall':>8} {'cpu':>8}  {'target':>7}"


def ratio_line(ratio: Ratio) -> str:
    target = f"< {ratio.target:g}x" if ratio.target is not None else ""
    cpu = f"{ratio.cpu:>7.2f}x" if ratio.cpu is not None else f"{'':>8}"
    return f"  {ratio.label:<{LABEL_WIDTH}} {ratio.value:>7.2f}x {cpu}  {target:>7}  {ratio.verdict()}"
