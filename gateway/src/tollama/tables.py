"""Long-format tables (CSV, Parquet, Arrow IPC) to forecast series, and forecasts back to a table.

One row per series and time step. Columns (names case-insensitive, or named explicitly):

- the series id: ``unique_id``, ``item_id``, ``id``, ``series_id`` (``series``);
- the time: ``ds``, ``timestamp``, ``time``, ``date`` (``datetime``);
- the target: ``y``, ``target``, ``value``;
- ``static_<name>`` columns, constant per id: static covariate ``<name>``;
- every other column: a past covariate (numeric, or categorical when it holds strings); a
  column of the ``future`` table (the horizon's rows, Nixtla's ``X_df``) makes it known-future.

Rows may come in any order: each series is sorted by time; two rows with the same (id, time)
are refused naming both. Every refusal is an :class:`~tollama.errors.InvalidTable` naming the
row (for CSV also the file line), the column and the value. The readers are pyarrow's; this
module is imported only when such a body arrives (the idle gateway never loads pyarrow).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.ipc as pa_ipc
import pyarrow.parquet as pq

from tollama import timeaxis
from tollama.errors import InvalidTable, UnsupportedMediaType

Format = Literal["csv", "parquet", "arrow"]
ID = ("unique_id", "item_id", "id", "series_id", "series")
TIME = ("ds", "timestamp", "time", "date", "datetime")
TARGET = ("y", "target", "value")
STATIC = "static_"


@dataclass(frozen=True)
class Names:
    """The id and time column names of the input, which the answer's table reuses."""

    id: str = "unique_id"
    time: str = "ds"


@dataclass(frozen=True)
class Columns:
    """Explicit column names (query ``id_col``, ``time_col``, ``target_col``); ``None`` = by alias."""

    id: str | None = None
    time: str | None = None
    target: str | None = None


def read(body: bytes, fmt: Format, *, part: str = "data") -> pa.Table:
    """Read one table; a body that is not one is an :class:`InvalidTable` naming ``part``."""
    if not body:
        raise InvalidTable(f"{part}: the table is empty", part=part)
    try:
        if fmt == "csv":
            return _read_csv(body, part)
        if fmt == "parquet":
            return pq.read_table(io.BytesIO(body))
        if body[:6] == b"ARROW1":  # the IPC file format (Feather v2), as .arrow files often are
            return pa_ipc.open_file(pa.BufferReader(body)).read_all()
        with pa_ipc.open_stream(body) as reader:
            return reader.read_all()
    except InvalidTable:
        raise
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        kind = {"csv": "CSV", "parquet": "Parquet", "arrow": "Arrow IPC stream"}[fmt]
        raise InvalidTable(f"{part}: not a readable {kind} table ({exc})", part=part) from None


def _read_csv(body: bytes, part: str) -> pa.Table:
    bad: list[Any] = []

    def on_invalid(row: Any) -> str:
        bad.append(row)
        return "error"

    parse = pa_csv.ParseOptions(invalid_row_handler=on_invalid)
    convert = pa_csv.ConvertOptions(strings_can_be_null=True)
    try:
        table = pa_csv.read_csv(io.BytesIO(body), read_options=pa_csv.ReadOptions(use_threads=False), parse_options=parse, convert_options=convert)
        table.column_names  # noqa: B018 - the header is decoded here: bytes that are not UTF-8 fail now, not later
        return table
    except UnicodeDecodeError as exc:
        raise InvalidTable(f"{part}: the CSV header is not UTF-8 text ({exc.reason} at byte {exc.start})", part=part, line=1) from None
    except pa.ArrowInvalid:
        if not bad:
            raise
        row = bad[0]
        line = row.number if row.number is not None else _line_of(body, row.text)
        raise InvalidTable(
            f"{part}: line {line}: expected {row.expected_columns} columns, got {row.actual_columns} ({row.text!r})",
            part=part, line=line, value=row.text, limit=row.expected_columns,
        ) from None


def _line_of(body: bytes, text: str) -> int | None:
    for n, raw in enumerate(body.decode("utf-8", "replace").splitlines(), start=1):
        if raw == text:
            return n
    return None


def _pick(names: Sequence[str], given: str | None, aliases: tuple[str, ...], what: str, part: str) -> str:
    if given is not None:
        if given not in names:
            raise InvalidTable(f"{part}: no {what} column {given!r} (columns: {', '.join(names)})", part=part, column=given)
        return given
    lowered = {n.lower().strip(): n for n in names}
    found = next((lowered[a] for a in aliases if a in lowered), None)
    if found is None:
        raise InvalidTable(
            f"{part}: no {what} column; name one of {', '.join(aliases)} (columns: {', '.join(names)})", part=part, column=what,
        )
    return found


def _where(part: str, fmt: Format, row: int) -> tuple[str, dict[str, Any]]:
    """``row`` is 0-based in the table as sent; CSV also names the file line (header = line 1)."""
    if fmt == "csv":
        return f"{part}: line {row + 2} (row {row + 1})", {"row": row + 1, "line": row + 2}
    return f"{part}: row {row + 1}", {"row": row + 1}


def _stamp(value: Any) -> tuple[datetime, str] | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value, value.isoformat()
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time()), value.isoformat()
    text = str(value)
    return timeaxis.parse_timestamp(text), text


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    return None if text == "" else float(text)


@dataclass
class _Rows:
    """One table's rows grouped by id, each group's row numbers in time order."""

    id: str
    time: str
    order: dict[str, list[int]]
    stamps: list[str]
    columns: dict[str, list[Any]]


def _group(table: pa.Table, cols: Columns, fmt: Format, part: str, *, default_id: str | None) -> _Rows:
    names = table.column_names
    id_col = _pick(names, cols.id, ID, "id", part) if default_id is None or cols.id is not None or _has(names, ID) else None
    time_col = _pick(names, cols.time, TIME, "time", part)
    columns = {n: table.column(n).to_pylist() for n in names}
    ids = [default_id] * table.num_rows if id_col is None else columns[id_col]
    parsed: list[tuple[datetime, str]] = []
    for r, raw in enumerate(columns[time_col]):
        where, loc = _where(part, fmt, r)
        try:
            stamp = _stamp(raw)
        except timeaxis.FreqError as exc:
            raise InvalidTable(f"{where}: column {time_col!r}: {exc}", part=part, column=time_col, value=str(raw), **loc) from None
        if stamp is None:
            raise InvalidTable(f"{where}: column {time_col!r} is empty; every row needs a time", part=part, column=time_col, **loc)
        parsed.append(stamp)
    order: dict[str, list[int]] = {}
    for r, sid in enumerate(ids):
        if sid is None or str(sid) == "":
            where, loc = _where(part, fmt, r)
            raise InvalidTable(f"{where}: column {id_col!r} is empty; every row needs a series id", part=part, column=id_col, **loc)
        order.setdefault(str(sid), []).append(r)
    for sid, rows in order.items():
        try:
            rows.sort(key=lambda r: parsed[r][0])
        except TypeError:
            raise InvalidTable(f"{part}: series {sid!r} mixes timezone-aware and naive times", part=part, column=time_col, value=sid) from None
        for a, b in pairwise(rows):
            if parsed[a][0] == parsed[b][0]:
                first, _ = _where(part, fmt, min(a, b))
                where, loc = _where(part, fmt, max(a, b))
                raise InvalidTable(
                    f"{where}: duplicate of ({sid!r}, {parsed[b][1]!r}), already given at {first.split(': ', 1)[1]}",
                    part=part, column=time_col, value=parsed[b][1], **loc,
                )
    others = {n: v for n, v in columns.items() if n not in (id_col, time_col)}
    return _Rows(id=id_col or Names.id, time=time_col, order=order, stamps=[p[1] for p in parsed], columns=others)


def _has(names: Sequence[str], aliases: tuple[str, ...]) -> bool:
    lowered = {n.lower().strip() for n in names}
    return any(a in lowered for a in aliases)


def _covariate(values: list[Any], rows: list[int], name: str, fmt: Format, part: str) -> list[float | str | None]:
    picked = [values[r] for r in rows]
    if all(v is None or isinstance(v, (int, float)) for v in picked):
        return [None if v is None else _finite(float(v), name, fmt, part, r) for v, r in zip(picked, rows, strict=True)]
    return [None if v is None else str(v) for v in picked]


def _finite(v: float, name: str, fmt: Format, part: str, row: int) -> float:
    if not math.isfinite(v):
        where, loc = _where(part, fmt, row)
        raise InvalidTable(f"{where}: column {name!r}: {v} is not a finite number", part=part, column=name, value=str(v), **loc)
    return v


def to_series(
    data: pa.Table, future: pa.Table | None = None, *, fmt: Format = "csv", future_fmt: Format | None = None,
    columns: Columns = Columns(), default_id: str | None = None,
) -> tuple[list[dict[str, Any]], Names]:
    """The forecast request's ``series`` (plain dicts of :class:`~tollama.schema.SeriesIn` fields).

    ``default_id``: the id of the one series of a table without an id column (the CLI's files);
    ``None`` (the API) refuses such a table.
    """
    rows = _group(data, columns, fmt, "data", default_id=default_id)
    target_col = _pick(list(rows.columns), columns.target, TARGET, "target", "data")
    ahead = _group(future, Columns(id=rows.id if rows.id in future.column_names else None, time=columns.time), future_fmt or fmt, "future",
                   default_id=default_id) if future is not None else None
    statics = [n for n in rows.columns if n.lower().startswith(STATIC)]
    past_names = [n for n in rows.columns if n != target_col and n not in statics]
    out: list[dict[str, Any]] = []
    for sid, order in rows.order.items():
        target: list[float | None] = []
        for r in order:
            raw = rows.columns[target_col][r]
            try:
                value = _number(raw)
            except ValueError:
                where, loc = _where("data", fmt, r)
                raise InvalidTable(f"{where}: column {target_col!r}: {raw!r} is not a number", part="data", column=target_col, value=str(raw), **loc) from None
            target.append(None if value is None or math.isnan(value) else _finite(value, target_col, fmt, "data", r))
        s: dict[str, Any] = {"id": sid, "target": target, "timestamps": [rows.stamps[r] for r in order]}
        past = {n: _covariate(rows.columns[n], order, n, fmt, "data") for n in past_names}
        if ahead is not None:
            horizon_rows = ahead.order.get(sid)
            if horizon_rows is None:
                raise InvalidTable(f"future: no rows for series {sid!r}", part="future", column=ahead.id, value=sid)
            s["future_covariates"] = {n: _covariate(v, horizon_rows, n, future_fmt or fmt, "future") for n, v in ahead.columns.items()}
        if past:
            s["past_covariates"] = past
        static = {n[len(STATIC):]: _static(rows.columns[n], order, n, sid, fmt) for n in statics}
        if static:
            s["static_covariates"] = static
        out.append(s)
    return out, Names(id=rows.id, time=rows.time)


def _static(values: list[Any], order: list[int], name: str, sid: str, fmt: Format) -> float | str:
    seen = {values[r] for r in order}
    if len(seen) != 1 or None in seen:
        r = next(r for r in order if values[r] != values[order[0]]) if len(seen) > 1 else order[0]
        where, loc = _where("data", fmt, r)
        raise InvalidTable(
            f"{where}: static column {name!r} must hold one value per series; series {sid!r} has {sorted(map(str, seen))}",
            part="data", column=name, value=str(values[r]), **loc,
        )
    value = seen.pop()
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def forecast_table(forecasts: Sequence[dict[str, Any]], names: Names = Names()) -> pa.Table:
    """One row per series and step: id, time, ``mean``, one column per level (``"0.1"``)."""
    ids: list[str] = []
    stamps: list[str | None] = []
    means: list[Any] = []
    levels: dict[str, list[Any]] = {key: [] for key in (forecasts[0]["quantiles"] if forecasts else {})}
    for f in forecasts:
        if f["mean"] and isinstance(f["mean"][0], list):
            raise UnsupportedMediaType(f"series {f['id']!r} is multivariate; a long table answers univariate forecasts only (ask for JSON)")
        steps = len(f["mean"])
        ids += [f["id"]] * steps
        stamps += f.get("timestamps") or [None] * steps
        means += f["mean"]
        for key in levels:
            levels[key] += f["quantiles"][key]
    cols: dict[str, pa.Array] = {names.id: pa.array(ids, pa.string()), names.time: pa.array(stamps, pa.string()), "mean": pa.array(means, pa.float64())}
    cols.update({key: pa.array(col, pa.float64()) for key, col in levels.items()})
    return pa.table(cols)


def write(table: pa.Table, fmt: Format) -> bytes:
    sink = io.BytesIO()
    if fmt == "csv":
        pa_csv.write_csv(table, sink)
    elif fmt == "parquet":
        pq.write_table(table, sink)
    else:
        with pa_ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
    return sink.getvalue()


def write_file(table: pa.Table, fmt: Format) -> bytes:
    """As :func:`write`, but Arrow in the IPC file format (Feather v2), which ``.arrow`` files use."""
    if fmt != "arrow":
        return write(table, fmt)
    sink = io.BytesIO()
    with pa_ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()
