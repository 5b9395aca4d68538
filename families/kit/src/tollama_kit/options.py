"""The one conversion of a request's wire ``options`` into a family's typed options Struct.

A family declares its options as a msgspec Struct (types, defaults and ``Meta`` constraints in
the type; cross-field rules in ``__post_init__`` raising ``ValueError``)::

    class TotoOptions(msgspec.Struct, frozen=True, kw_only=True):
        num_samples: Annotated[int, msgspec.Meta(ge=0)] = 256
        seed: Annotated[int, msgspec.Meta(ge=0)] = 0

and reads them with ``parse_options(batch.options, TotoOptions)``. The conversion is lax about
spellings a TSModelfile or a registry default may carry (``"20"`` for 20, ``"true"`` for true,
``20.0`` for 20), ignores options the family does not read (the gateway validated the public
ones), and turns a wrong type or value into one :class:`~tollama_kit.errors.BadInput` that names
the option, the rule and the value. The Struct's JSON schema is generated into the family's
``options.json`` (``scripts/gen_family_options.py``), which is how the gateway learns the names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec
import msgspec.inspect

from tollama_kit.errors import BadInput

T = TypeVar("T", bound=msgspec.Struct)
_AT = re.compile(r"^(?P<detail>.*?)(?: - at `\$(?:\.(?P<name>\w+))?[^`]*`)?$", re.S)


def parse_options(options: Mapping[str, Any], kind: type[T]) -> T:
    """``options`` converted into ``kind``; a wrong option is a ``BadInput`` naming it."""
    try:
        return msgspec.convert(dict(options), kind, strict=False)
    except msgspec.ValidationError as exc:
        match = _AT.match(str(exc))
        detail = match.group("detail") if match else str(exc)
        name = match.group("name") if match else None
        if name is None:
            raise BadInput(f"options: {detail[:1].lower()}{detail[1:]}") from None
        choices = _choices(kind, name)
        if choices and detail.startswith("Invalid enum value"):
            raise BadInput(f"option {name!r} must be one of {choices}, got {options.get(name)!r}") from None
        raise BadInput(f"option {name!r}: {detail[:1].lower()}{detail[1:]} (value {options.get(name)!r})") from None


def _choices(kind: type[msgspec.Struct], name: str) -> list[Any]:
    """The values a ``Literal`` option allows (``None`` left out), else ``[]``."""
    info = msgspec.inspect.type_info(kind)
    assert isinstance(info, msgspec.inspect.StructType)
    for field in info.fields:
        if field.name == name:
            kinds = field.type.types if isinstance(field.type, msgspec.inspect.UnionType) else (field.type,)
            return [v for t in kinds if isinstance(t, msgspec.inspect.LiteralType) for v in t.values]
    return []


def option_names(kind: type[msgspec.Struct]) -> list[str]:
    """The options ``kind`` reads, in declaration order."""
    return list(kind.__struct_fields__)
