"""Terminal output: tables, sizes, ages and pull progress bars."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any, TextIO


def size(n: int | float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def ago(iso: str) -> str:
    try:
        then = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    secs = (datetime.now(UTC) - then).total_seconds()
    for unit, span in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if secs >= span:
            n = int(secs // span)
            return f"{n} {unit}{'s' if n > 1 else ''} ago"
    return "just now"


def table(rows: list[list[str]], header: list[str], out: TextIO = sys.stdout) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        out.write("    ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")


class PullProgress:
    """One line per file, redrawn in place on a terminal; plain lines otherwise."""

    def __init__(self, out: TextIO = sys.stderr) -> None:
        self.out = out
        self.tty = out.isatty()
        self.last: str | None = None

    def event(self, ev: dict[str, Any]) -> None:
        status = ev.get("status", "")
        total, done = ev.get("total"), ev.get("completed")
        if total:
            frac = min(1.0, (done or 0) / total)
            bar = "█" * int(frac * 30) + "░" * (30 - int(frac * 30))
            line = f"{status}  {bar} {frac * 100:3.0f}%  {size(done or 0)}/{size(total)}"
            if self.tty:
                self.out.write(("\r" if self.last == status else "\n" if self.last else "") + line)
            elif done == total and self.last != status + "done":
                self.out.write(line + "\n")
                status += "done"
        else:
            if self.tty and self.last:
                self.out.write("\n")
            self.out.write(status + ("\n" if not self.tty else ""))
        self.last = status
        self.out.flush()

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")
            self.out.flush()


def forecast_table(resp: dict[str, Any], out: TextIO = sys.stdout) -> None:
    levels = [str(q) for q in resp.get("quantiles", [])]
    for f in resp["forecasts"]:
        out.write(f"series {f['id']}  ({resp['model']}, {resp['family']} on {resp['device']}, {resp['total_ms']:.0f} ms)\n")
        means = f["mean"] if f["mean"] and isinstance(f["mean"][0], list) else [f["mean"]]
        stamps = f.get("timestamps") or [str(i + 1) for i in range(len(means[0]))]
        for v, mean in enumerate(means):
            if len(means) > 1:
                out.write(f"  variate {v}\n")
            rows = []
            for i, t in enumerate(stamps):
                qs = [f["quantiles"][lv][v][i] if len(means) > 1 else f["quantiles"][lv][i] for lv in levels]
                rows.append([t, f"{mean[i]:.4g}", *[f"{q:.4g}" for q in qs]])
            table(rows, ["step" if not f.get("timestamps") else "timestamp", "mean", *[f"q{lv}" for lv in levels]], out)
        out.write("\n")
    for w in resp.get("warnings", []):
        out.write(f"warning: {w}\n")
