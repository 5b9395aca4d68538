"""Model names: ``[namespace/]name[:tag]``, parsed once into a :class:`ModelRef`.

A model name ends up as a path in the store (``manifests/<namespace>/<name>/<tag>``), so
the parser is the one gate against path tricks: anything that is not a plain,
lower-cased ``[namespace/]name[:tag]`` made of letters, digits, ``.``, ``-`` and ``_`` is
refused with :class:`~tollama.errors.InvalidModelName` before it reaches the filesystem.

Like Ollama, names are case-insensitive, the tag defaults to ``latest`` and the implicit
namespace is ``library`` (``library/chronos`` and ``chronos`` are the same model).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tollama.errors import InvalidModelName

DEFAULT_TAG = "latest"
DEFAULT_NAMESPACE = "library"
MAX_LENGTH = 128

_PART = re.compile(r"[a-z0-9_][a-z0-9._-]*")
_RULE = (
    "a model name is [namespace/]name[:tag] made of letters, digits, '.', '-' and '_', "
    f"each part starting with a letter, digit or '_', at most {MAX_LENGTH} characters"
)


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A validated model reference. ``name`` may carry one ``namespace/`` prefix."""

    name: str
    tag: str = DEFAULT_TAG

    @property
    def full(self) -> str:
        return f"{self.name}:{self.tag}"

    @property
    def namespace(self) -> str:
        return self.name.split("/", 1)[0] if "/" in self.name else DEFAULT_NAMESPACE

    @property
    def model(self) -> str:
        """The name without its namespace."""
        return self.name.rsplit("/", 1)[-1]

    def __str__(self) -> str:
        return self.full


def _refuse(raw: str, why: str) -> InvalidModelName:
    return InvalidModelName(f"invalid model name {raw!r}: {why}; {_RULE}", value=raw)


def parse_name(raw: str) -> ModelRef:
    """Parse and normalise a user-supplied model name, or raise :class:`InvalidModelName`."""
    if not isinstance(raw, str) or raw == "":
        raise _refuse(str(raw), "it is empty")
    if len(raw) > MAX_LENGTH:
        raise InvalidModelName(
            f"invalid model name {raw[:32]!r}...: longer than {MAX_LENGTH} characters; {_RULE}",
            value=raw[:MAX_LENGTH],
            limit=MAX_LENGTH,
        )
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise _refuse(raw, "it contains control characters")
    if any(c.isspace() for c in raw):
        raise _refuse(raw, "it contains whitespace")
    if "\\" in raw:
        raise _refuse(raw, "backslashes are not allowed")
    if raw.startswith("/"):
        raise _refuse(raw, "absolute paths are not allowed")
    if ".." in raw:
        raise _refuse(raw, "'..' is not allowed")

    name, sep, tag = raw.lower().partition(":")
    if sep and tag == "":
        raise _refuse(raw, "the tag after ':' is empty")
    if ":" in tag:
        raise _refuse(raw, "only one ':' is allowed")
    tag = tag or DEFAULT_TAG

    parts = name.split("/")
    if len(parts) > 2:
        raise _refuse(raw, "only one 'namespace/' level is allowed")
    for part in [*parts, tag]:
        if part == "":
            raise _refuse(raw, "a part of it is empty")
        if part[0] in ".-":
            raise _refuse(raw, f"{part!r} starts with {part[0]!r}")
        if not _PART.fullmatch(part):
            raise _refuse(raw, f"{part!r} contains characters outside [A-Za-z0-9._-]")

    if len(parts) == 2 and parts[0] == DEFAULT_NAMESPACE:
        name = parts[1]
    return ModelRef(name=name, tag=tag)
