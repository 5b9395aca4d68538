"""``keep_alive`` values, Ollama's way: a number is seconds, a string is a duration
(``"300ms"``, ``"30s"``, ``"5m"``, ``"1h30m"``), ``0`` unloads after the request, and a
negative value keeps the model loaded forever (returned here as ``None``).

:data:`DEFAULT` is the server's default (``TOLLAMA_KEEP_ALIVE``'s); validation parses every
value a request or TSModelfile gives before anything acts on it (:func:`resolve`)."""

from __future__ import annotations

import math
import re

from tollama.errors import InvalidValue

#: The one default: an idle model stays loaded five minutes (Ollama's default).
DEFAULT = "5m"

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(-?\d+(?:\.\d+)?)(ms|s|m|h)")


def parse_keep_alive(value: int | float | str, path: str = "$.keep_alive") -> float | None:
    """Seconds to keep an idle model loaded; ``None`` means forever."""
    if isinstance(value, bool):
        raise InvalidValue(f"{path}: keep_alive must be a number of seconds or a duration such as '5m'", path=path, value=value)
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            parts = _PART.findall(text)
            if not parts or "".join(n + u for n, u in parts) != text.replace(" ", ""):
                raise InvalidValue(
                    f"{path}: cannot read keep_alive {value!r}; use seconds (300), a duration ('5m', '1h30m'), 0 or -1",
                    path=path, value=value, limit="duration",
                ) from None
            seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if not math.isfinite(seconds):
        raise InvalidValue(f"{path}: keep_alive must be finite", path=path, value=value)
    return None if seconds < 0 else seconds


def resolve(request: int | float | str | None, modelfile: object, server: float | None) -> float | None:
    """The keep_alive a forecast uses, by precedence: request > TSModelfile > server (already parsed)."""
    if request is not None:
        return parse_keep_alive(request)
    if isinstance(modelfile, (int, float, str)):
        return parse_keep_alive(modelfile, "keep_alive (TSModelfile)")
    return server
