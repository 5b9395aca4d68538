"""Read forecast input files (long-format tables, or JSON) and write forecast files.

Tables (CSV, Parquet, Arrow; by extension, CSV otherwise) are long format, read by
:mod:`tollama.tables` (the API's own reader): an id column (``unique_id``, ``item_id``, ``id``,
``series_id``, ``series``; optional here: a file without one is one series), a time column (``ds``,
``timestamp``, ``time``, ``date``), a target column (``y``, ``target``, ``value``); other columns are
past covariates, ``static_`` columns static ones. Rows may come in any order; duplicates of (id, time)
are refused naming the line. JSON: a forecast request object (its ``series`` are used), a list of
series objects, or a bare list of numbers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tollama.errors import InvalidTable

if TYPE_CHECKING:
    from tollama.tables import Format, Names

_FORMATS: dict[str, Format] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".arrow": "arrow", ".arrows": "arrow", ".feather": "arrow", ".ipc": "arrow"}


class InputError(ValueError):
    pass


def table_format(path: Path) -> Format | None:
    return _FORMATS.get(path.suffix.lower())


def _bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc


def read_input(path: Path, future: Path | None = None) -> tuple[list[dict[str, Any]], Names | None]:
    """The series of an input file (and the horizon's covariates of a ``future`` table), and,
    for a table, its id and time column names."""
    raw = _bytes(path)
    fmt = table_format(path)
    if fmt is None and (path.suffix.lower() == ".json" or raw.lstrip()[:1] in (b"[", b"{")):
        if future is not None:
            raise InputError("--future needs a table input (CSV, Parquet or Arrow), not JSON")
        return _from_json(raw.decode("utf-8", "replace"), path), None
    from tollama import tables

    future_fmt: Format = (table_format(future) or "csv") if future is not None else "csv"
    try:
        data = tables.read(raw, fmt or "csv", part=str(path))
        ahead = tables.read(_bytes(future), future_fmt, part=str(future)) if future is not None else None
        series, names = tables.to_series(data, ahead, fmt=fmt or "csv", future_fmt=future_fmt, default_id="series")
    except InvalidTable as exc:
        raise InputError(exc.message.replace("data: ", f"{path}: ", 1).replace("future: ", f"{future}: ", 1)) from None
    return series, names


def write_output(path: Path, resp: dict[str, Any], names: Names | None) -> None:
    """The forecast as the file's extension names: JSON (the response), else a long table."""
    if path.suffix.lower() == ".json":
        text = json.dumps(resp, indent=2) + "\n"
        try:
            path.write_text(text)
        except OSError as exc:
            raise InputError(f"cannot write {path}: {exc}") from exc
        return
    fmt = table_format(path)
    if fmt is None:
        raise InputError(f"--output {path}: unknown extension; use .csv, .parquet, .arrow or .json")
    from tollama import tables
    from tollama.errors import UnsupportedMediaType

    try:
        table = tables.forecast_table(resp["forecasts"], names or tables.Names())
    except UnsupportedMediaType as exc:
        raise InputError(f"--output {path}: {exc.message}") from None
    body = tables.write_file(table, fmt) if fmt == "arrow" and path.suffix.lower() != ".arrows" else tables.write(table, fmt)
    try:
        path.write_bytes(body)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc}") from exc
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
