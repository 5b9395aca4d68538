"""Read forecast input files: CSV in long format, or JSON.

CSV columns (header required, names case-insensitive): an id column (``id``, ``unique_id``,
``series``, ``series_id``; optional: one series when absent), a time column (``timestamp``,
``ds``, ``date``, ``time``; optional) and a value column (``value``, ``y``, ``target``).
Empty value cells are missing values. Other numeric columns are past covariates.
JSON: a forecast request object (its ``series`` are used), a list of series objects, or a
bare list of numbers.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

ID = ("id", "unique_id", "series", "series_id", "item_id")
TIME = ("timestamp", "ds", "date", "time", "datetime")
VALUE = ("value", "y", "target")


class InputError(ValueError):
    pass


def _pick(header: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {h.lower().strip(): h for h in header}
    return next((lowered[n] for n in names if n in lowered), None)


def read_series(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    if path.suffix.lower() == ".json" or text.lstrip()[:1] in "[{":
        return _from_json(text, path)
    return _from_csv(text, path)


def _from_json(text: str, path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from exc
    if isinstance(data, dict):
        data = data.get("series")
        if data is None:
            raise InputError(f"{path}: a JSON object needs a 'series' list")
    if isinstance(data, list) and data and all(isinstance(v, (int, float)) or v is None for v in data):
        return [{"id": "series", "target": data}]
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a list of series")
    return [s if isinstance(s, dict) else {"id": str(i), "target": s} for i, s in enumerate(data)]


def _from_csv(text: str, path: Path) -> list[dict[str, Any]]:
    rows = list(csv.DictReader(text.splitlines()))
    if not rows:
        raise InputError(f"{path}: no rows")
    header = list(rows[0].keys())
    id_col, time_col, value_col = _pick(header, ID), _pick(header, TIME), _pick(header, VALUE)
    if value_col is None:
        raise InputError(f"{path}: no value column; name one of {', '.join(VALUE)} (columns: {', '.join(header)})")
    extra = [h for h in header if h not in (id_col, time_col, value_col)]
    series: dict[str, dict[str, Any]] = {}
    for line, row in enumerate(rows, start=2):
        sid = row[id_col] if id_col else "series"
        s = series.setdefault(sid, {"id": sid, "target": [], **({"timestamps": []} if time_col else {}), "past_covariates": {c: [] for c in extra}})
        raw = (row[value_col] or "").strip()
        try:
            s["target"].append(float(raw) if raw else None)
        except ValueError:
            raise InputError(f"{path}:{line}: value {raw!r} is not a number") from None
        if time_col:
            s["timestamps"].append(row[time_col])
        for c in extra:
            cell = (row[c] or "").strip()
            try:
                s["past_covariates"][c].append(float(cell))
            except ValueError:
                s["past_covariates"][c].append(cell)
    for s in series.values():
        if not s["past_covariates"]:
            del s["past_covariates"]
    return list(series.values())
