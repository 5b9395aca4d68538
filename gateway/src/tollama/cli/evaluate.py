"""``tollama evaluate``: stream ``/api/evaluate`` behind a progress bar, then the leaderboard as a table."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tollama.cli import render
from tollama.cli.inputs import InputError, read_input
from tollama.client import Client

EXIT_OK = 0


def _request(args: argparse.Namespace) -> dict[str, Any]:
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models:
        raise InputError("--models: name at least one model")
    request: dict[str, Any] = {"models": models, "series": read_input(Path(args.input))[0], "horizon": args.horizon, "windows": args.windows}
    if args.step is not None:
        request["step"] = args.step
    if args.metrics:
        request["metrics"] = [m.strip() for m in args.metrics.split(",") if m.strip()]
    if args.quantiles:
        try:
            request["quantiles"] = [float(q) for q in args.quantiles.split(",")]
        except ValueError:
            raise InputError(f"--quantiles: expected comma-separated numbers, got {args.quantiles!r}") from None
    if args.freq:
        request["freq"] = args.freq
    return request


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def leaderboard_table(resp: dict[str, Any]) -> Table:
    metric_names = list(resp["leaderboard"][0]["metrics"]) if resp["leaderboard"] else resp["metrics"]
    table = Table(title=f"horizon {resp['horizon']}, {resp['windows']} window(s), step {resp['step']}")
    for col in ("rank", "model", *metric_names, "win rate", "skill", "inference ms"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for row in resp["leaderboard"]:
        table.add_row(str(row["rank"]), row["model"], *(_fmt(row["metrics"].get(m)) for m in metric_names),
                      _fmt(row["win_rate"]), _fmt(row["skill"]), _fmt(row["inference_ms"]))
    return table


def write_csv(resp: dict[str, Any], path: Path) -> None:
    names = list(dict.fromkeys(k for res in resp["results"] for w in res["windows"] for s in w["series"] for k in s["metrics"]))
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["model", "window", "series", "cutoff", *names])
        for res in resp["results"]:
            for w in res["windows"]:
                for s in w["series"]:
                    out.writerow([res["model"], w["window"], s["id"], s["cutoff"], *("" if s["metrics"].get(n) is None else s["metrics"][n] for n in names)])


def evaluate(client: Client, args: argparse.Namespace) -> int:
    request = _request(args)
    err = Console(stderr=True)
    resp: dict[str, Any] | None = None
    total = len(request["models"]) * request["windows"]
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task("evaluating", total=total)
        for event in client.evaluate_stream(request):
            if event.get("status") == "evaluating":
                bar.update(task, completed=event["completed"], description=f"{event['model']} window {event['window'] + 1}")
            elif event.get("status") == "done":
                resp = event["response"]
    if resp is None:
        raise InputError("the evaluation ended without a result")
    if args.output:
        write_csv(resp, Path(args.output))
    if args.json:
        sys.stdout.write(json.dumps(resp, indent=2) + "\n")
    elif args.plot:
        from tollama.cli import plot

        sys.stdout.write(plot.leaderboard(resp, color=sys.stdout.isatty()))
    else:
        render.console().print(leaderboard_table(resp))
        for row in resp["leaderboard"]:
            for w in row["warnings"]:
                err.print(f"[yellow]{row['model']}: {w}[/yellow]")
        for w in resp["warnings"]:
            err.print(f"[yellow]{w}[/yellow]")
    return EXIT_OK
