"""TSModelfile: Ollama's Modelfile, for time series.

Grammar (line oriented; instructions are case-insensitive; ``#`` starts a comment line)::

    FROM <model name | local checkpoint directory>      the first instruction (or ENSEMBLE)
    ENSEMBLE <model> <model> ...                         instead of FROM: a model combining installed models
    PARAM <name> <value>                                 (PARAMETER is accepted too)
    LICENSE <text>                                       or a \"\"\" … \"\"\" block
    DESCRIPTION <text>                                   or a \"\"\" … \"\"\" block

A value may be quoted ("…") or span lines inside triple quotes. Every error names the line
and column and says what was expected. :func:`render` writes the canonical form back, which
parses to the same :class:`TSModelfile` (so ``show --modelfile`` output recreates the model).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tollama import timeaxis
from tollama.errors import InvalidValue
from tollama.keepalive import parse_keep_alive

INSTRUCTIONS = ("FROM", "ENSEMBLE", "PARAM", "PARAMETER", "LICENSE", "DESCRIPTION")


class TSModelfileError(InvalidValue):
    def __init__(self, line: int, column: int, message: str, value: Any = None, limit: Any = None) -> None:
        super().__init__(f"TSModelfile line {line}, column {column}: {message}", path=f"modelfile:{line}:{column}", value=value, limit=limit)
        self.line = line
        self.column = column


def _int(lo: int, hi: int | None = None) -> Callable[[str], int]:
    def convert(raw: str) -> int:
        value = int(raw)
        if value < lo or (hi is not None and value > hi):
            raise ValueError(f"must be between {lo} and {hi}" if hi is not None else f"must be >= {lo}")
        return value

    return convert


def _choice(*options: str) -> Callable[[str], str]:
    def convert(raw: str) -> str:
        if raw not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return raw

    return convert


def _quantiles(raw: str) -> list[float]:
    text = raw.strip()
    items = json.loads(text) if text.startswith("[") else [p for p in text.replace(",", " ").split() if p]
    levels = [float(x) for x in items]
    if not levels or any(not 0 < q < 1 for q in levels) or levels != sorted(set(levels)):
        raise ValueError("must be levels in (0, 1), sorted and unique, e.g. 0.1,0.5,0.9")
    return levels


def _freq(raw: str) -> str:
    return raw if raw == "auto" else timeaxis.parse_freq(raw).alias


def _keep_alive(raw: str) -> str:
    parse_keep_alive(raw, "keep_alive")
    return raw


def _device(raw: str) -> str:
    if raw in ("auto", "cpu", "cuda", "mps") or (raw.startswith("cuda:") and raw[5:].isdigit()):
        return raw
    raise ValueError("must be auto, cpu, cuda, cuda:N or mps")


def _name(raw: str) -> str:
    if not raw.replace("_", "").replace("-", "").isalnum() or raw != raw.lower():
        raise ValueError("must be a family name (lower case letters, digits, - and _)")
    return raw


def _patch(raw: str) -> int | str:
    return "auto" if raw == "auto" else _int(1)(raw)


#: Every parameter: its converter and the families that honour it (docs/tsmodelfile.md).
PARAMS: dict[str, tuple[Callable[[str], Any], str]] = {
    "horizon": (_int(1), "all"),
    "quantiles": (_quantiles, "all"),
    "context_length": (_int(1), "all"),
    "freq": (_freq, "all (timestamps; season length for baseline)"),
    "covariates_mode": (_choice("strict", "best_effort"), "all"),
    "keep_alive": (_keep_alive, "all"),
    "device": (_device, "all torch families"),
    "num_samples": (_int(1, 10_000), "sampling models: chronos-t5, moirai 1.x, sundial, toto"),
    "seed": (_int(0), "sampling models"),
    "scaling": (_choice("standard", "minmax", "none"), "families with an input-scaling option (see docs/families)"),
    "dtype": (_choice("auto", "float32", "bfloat16", "float16"), "families whose options declare it (chronos)"),
    "patch_size": (_patch, "families whose options declare it (uni2ts: Moirai 1.x)"),
    "season_length": (_int(1), "families whose options declare it (baseline)"),
    "family": (_name, "FROM a directory: a family the server knows (its manifest)"),
    "model": (str, "FROM a directory: the catalogue model whose capabilities apply"),
    "combine": (_choice("median", "mean"), "ENSEMBLE: how the members' forecasts are combined (default median)"),
}
#: Parameters that describe the model itself and never travel to a worker as options.
IDENTITY = ("family", "model")
#: Parameters only sampling models take (``capabilities.sampling``).
SAMPLING_PARAMS = ("num_samples", "seed")
#: Parameters a family takes only when its options Struct declares them (its ``options.json``).
FAMILY_PARAMS = ("dtype", "patch_size", "season_length")


@dataclass
class TSModelfile:
    from_: str
    """The base model or directory; empty for an ensemble."""
    members: list[str] = field(default_factory=list)
    """``ENSEMBLE``: the models combined (at least two)."""
    params: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict, compare=False)
    """The line each parameter was set on (for errors raised after parsing)."""
    license: str | None = None
    description: str | None = None


def _unquote(raw: str, line: int, column: int) -> str:
    text = raw.strip()
    if text.startswith('"') and (len(text) < 2 or not text.endswith('"')):
        raise TSModelfileError(line, column, f"unterminated or malformed quoted value {text!r}; expected a closing \"", text)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            return str(json.loads(text))
        except json.JSONDecodeError:
            raise TSModelfileError(line, column, f"unterminated or malformed quoted value {text!r}", text) from None
    return text


def parse(text: str) -> TSModelfile:
    lines = text.splitlines()
    result: TSModelfile | None = None
    i = 0
    while i < len(lines):
        raw = lines[i]
        lineno = i + 1
        i += 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip())
        word, _, rest = stripped.partition(" ")
        instr = word.upper()
        if instr not in INSTRUCTIONS:
            raise TSModelfileError(lineno, indent + 1, f"unknown instruction {word!r}; expected one of FROM, ENSEMBLE, PARAM, LICENSE, DESCRIPTION", word)
        value_col = indent + len(word) + 2
        if rest.lstrip().startswith('"""'):
            body = rest.lstrip()[3:]
            if '"""' in body:
                value = body[: body.index('"""')]
            else:
                chunks = [body]
                while True:
                    if i >= len(lines):
                        raise TSModelfileError(lineno, value_col, 'unterminated """ block; expected a closing """')
                    nxt = lines[i]
                    i += 1
                    if '"""' in nxt:
                        chunks.append(nxt[: nxt.index('"""')])
                        break
                    chunks.append(nxt)
                value = "\n".join(chunks).strip("\n")
        else:
            value = _unquote(rest, lineno, value_col)
        if instr in ("FROM", "ENSEMBLE"):
            if result is not None:
                first = "ENSEMBLE" if result.members else "FROM"
                said = f"{instr} appears twice" if first == instr else f"{instr} after {first}"
                raise TSModelfileError(lineno, indent + 1, f"{said}; a TSModelfile has exactly one FROM or ENSEMBLE", value)
            result = _ensemble(value, lineno, value_col) if instr == "ENSEMBLE" else TSModelfile(from_=value)
            result.lines[instr] = lineno
            if not value:
                raise TSModelfileError(lineno, value_col, "FROM needs a model name or a checkpoint directory")
            continue
        if result is None:
            raise TSModelfileError(lineno, indent + 1, f"{instr} before FROM; the first instruction must be FROM or ENSEMBLE", instr)
        if instr in ("PARAM", "PARAMETER"):
            name, _, pvalue = value.partition(" ") if not rest.lstrip().startswith('"""') else ("", "", "")
            name = name.strip().lower()
            if not name:
                raise TSModelfileError(lineno, value_col, "PARAM needs a name and a value, e.g. `PARAM horizon 24`")
            if name not in PARAMS:
                raise TSModelfileError(lineno, value_col, f"unknown parameter {name!r}; expected one of {', '.join(PARAMS)}", name)
            pvalue = _unquote(pvalue, lineno, value_col + len(name) + 1)
            if not pvalue:
                raise TSModelfileError(lineno, value_col + len(name) + 1, f"PARAM {name} needs a value", name)
            convert, _ = PARAMS[name]
            try:
                result.params[name] = convert(pvalue)
                result.lines[name] = lineno
            except (ValueError, json.JSONDecodeError, timeaxis.FreqError) as exc:
                raise TSModelfileError(lineno, value_col + len(name) + 1, f"PARAM {name} {pvalue!r}: {exc}", pvalue) from None
            except InvalidValue as exc:
                raise TSModelfileError(lineno, value_col + len(name) + 1, f"PARAM {name} {pvalue!r}: {exc.message}", pvalue) from None
        elif instr == "LICENSE":
            result.license = value
        else:
            result.description = value
    if result is None:
        raise TSModelfileError(1, 1, "a TSModelfile needs a FROM or an ENSEMBLE instruction")
    return result


def _ensemble(value: str, line: int, column: int) -> TSModelfile:
    members = value.split()
    if len(members) < 2:
        raise TSModelfileError(line, column, f"ENSEMBLE needs at least 2 member models, got {len(members)}, "
                               "e.g. `ENSEMBLE naive seasonal-naive`", value, 2)
    for k, name in enumerate(members):
        if name in members[:k]:
            raise TSModelfileError(line, column, f"ENSEMBLE names member {name!r} twice; each member once", name)
    return TSModelfile(from_="", members=members)


def _fmt(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(repr(v) if not isinstance(v, float) else f"{v:g}" for v in value)
    text = str(value)
    return json.dumps(text) if (" " in text or '"' in text or not text) else text


def _block(text: str) -> str:
    if "\n" in text or '"' in text:
        return '"""' + text + '"""'
    return _fmt(text)


def render(mf: TSModelfile) -> str:
    """The canonical TSModelfile text (sorted parameters): what ``show --modelfile`` prints."""
    out = [f"ENSEMBLE {' '.join(mf.members)}" if mf.members else f"FROM {mf.from_}"]
    if mf.description:
        out.append(f"DESCRIPTION {_block(mf.description)}")
    for name in sorted(mf.params):
        out.append(f"PARAM {name} {_fmt(mf.params[name])}")
    if mf.license:
        out.append(f"LICENSE {_block(mf.license)}")
    return "\n".join(out) + "\n"
