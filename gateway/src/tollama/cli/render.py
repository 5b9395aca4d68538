"""Terminal output through rich: tables, sizes, times and pull progress bars.

On a terminal: bold headers, colours and live progress bars. When the stream is not a
terminal (a pipe, a file, a test): plain text with no escape codes and no wrapping, one
line per row, so ``tollama list | awk '{print $1}'`` keeps working.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TransferSpeedColumn
from rich.table import Table
from rich.text import Text

# Wide enough that no table row is wrapped when the output is a pipe.
_PLAIN_WIDTH = 10_000
# Ollama prints "Forever" for a model kept loaded without limit; the API sends a far-future time.
_FOREVER_AFTER_DAYS = 365 * 50


class _Console(Console):
    """rich's Console, except that a closed pipe (``tollama … | head``) is left to the CLI's one handler
    (quiet, exit 141) instead of rich's own exit with status 1."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def console(out: TextIO | None = None) -> Console:
    """A console on ``out`` (default stdout): styled on a terminal, plain otherwise."""
    stream = out if out is not None else sys.stdout
    tty = stream.isatty()
    return _Console(
        file=stream, highlight=False, soft_wrap=not tty, width=None if tty else _PLAIN_WIDTH,
        no_color=not tty, force_terminal=tty, emoji=False,
    )


def size(n: int | float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def _parse(iso: str) -> datetime | None:
    try:
        then = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    return then if then.tzinfo else then.replace(tzinfo=UTC)


_UNITS = (("year", 365 * 86400), ("month", 30 * 86400), ("week", 7 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def _span(secs: float, smallest: str = "second") -> str | None:
    """The largest whole unit in ``secs`` ("4 minutes"), or None under one ``smallest``."""
    for unit, length in _UNITS:
        if secs >= length:
            n = int(secs // length)
            return f"{n} {unit}{'s' if n > 1 else ''}"
        if unit == smallest:
            break
    return None


def ago(iso: str, now: datetime | None = None) -> str:
    then = _parse(iso)
    if then is None:
        return iso
    span = _span(((now or datetime.now(UTC)) - then).total_seconds(), smallest="minute")
    return f"{span} ago" if span else "just now"


def until(iso: str, now: datetime | None = None) -> str:
    """An expiry as Ollama's ``ps`` prints it: "4 minutes from now", "Forever", "Stopping..."."""
    then = _parse(iso)
    if then is None:
        return iso
    secs = (then - (now or datetime.now(UTC))).total_seconds()
    if secs > _FOREVER_AFTER_DAYS * 86400:
        return "Forever"
    span = _span(secs)
    return f"{span} from now" if span else "Stopping..."


def table(rows: list[list[str]], header: list[str], out: TextIO | None = None) -> None:
    """Columns aligned like Ollama's tab writer; a bold header on a terminal."""
    t = Table(box=None, pad_edge=False, padding=(0, 4, 0, 0), show_edge=False, header_style="bold")
    for h in header:
        t.add_column(h, no_wrap=True, overflow="ignore")
    for r in rows:
        t.add_row(*[str(c) for c in r])
    _print_stripped(console(out), t)


def _print_stripped(con: Console, renderable: Any) -> None:
    """Print with trailing padding removed (rich pads the last column to its width)."""
    if con.is_terminal:
        con.print(renderable)
        return
    with con.capture() as cap:
        con.print(renderable)
    con.file.write("".join(line.rstrip() + "\n" for line in cap.get().splitlines()))


class PullProgress:
    """Live progress bars (one per file) on a terminal; one plain line per step otherwise."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.console = console(out if out is not None else sys.stderr)
        self.tty = self.console.is_terminal
        self.progress: Progress | None = None
        self.tasks: dict[str, TaskID] = {}
        self.done: set[str] = set()

    def _bars(self) -> Progress:
        if self.progress is None:
            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(bar_width=30), TextColumn("{task.percentage:>3.0f}%"),
                DownloadColumn(binary_units=False), TransferSpeedColumn(), console=self.console, transient=False,
            )
            self.progress.start()
        return self.progress

    def event(self, ev: dict[str, Any]) -> None:
        status = str(ev.get("status", ""))
        total, done = ev.get("total"), ev.get("completed") or 0
        if total:
            if self.tty:
                bars = self._bars()
                if status not in self.tasks:
                    self.tasks[status] = bars.add_task(status, total=total)
                bars.update(self.tasks[status], completed=done, total=total)
            elif done >= total and status not in self.done:
                self.done.add(status)
                frac = min(1.0, done / total)
                self.console.print(f"{status}  {frac * 100:3.0f}%  {size(done)}/{size(total)}", markup=False)
        elif self.progress is not None:
            self.progress.console.print(status, markup=False)
        else:
            self.console.print(status, markup=False, style="green" if status == "success" else None)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def forecast_table(resp: dict[str, Any], out: TextIO | None = None) -> None:
    con = console(out)
    levels = [str(q) for q in resp.get("quantiles", [])]
    for f in resp["forecasts"]:
        title = Text(f"series {f['id']}", style="bold")
        title.append(f"  ({resp['model']}, {resp['family']} on {resp['device']}, {resp['total_ms']:.0f} ms)", style=None)
        con.print(title)
        means = f["mean"] if f["mean"] and isinstance(f["mean"][0], list) else [f["mean"]]
        stamps = f.get("timestamps") or [str(i + 1) for i in range(len(means[0]))]
        for v, mean in enumerate(means):
            if len(means) > 1:
                con.print(f"  variate {v}", markup=False)
            rows = []
            for i, t in enumerate(stamps):
                qs = [f["quantiles"][lv][v][i] if len(means) > 1 else f["quantiles"][lv][i] for lv in levels]
                rows.append([t, f"{mean[i]:.4g}", *[f"{q:.4g}" for q in qs]])
            table(rows, ["step" if not f.get("timestamps") else "timestamp", "mean", *[f"q{lv}" for lv in levels]], out)
        con.print()
    for w in resp.get("warnings", []):
        con.print(Text("warning: ", style="yellow") + Text(str(w)), soft_wrap=True)
