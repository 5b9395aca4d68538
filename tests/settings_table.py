"""The settings table's variable names, for the tests that keep deploy files in step with it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from tollama.settings import Settings

#: Every ``TOLLAMA_*`` variable the gateway reads (docs/settings.md is generated from the same fields).
SETTING_VARIABLES = frozenset(f.metadata["env"] for f in dataclasses.fields(Settings))


def unknown_settings(names: Iterable[str]) -> list[str]:
    """The ``TOLLAMA_*`` names among ``names`` that are not in the settings table, sorted."""
    return sorted({n for n in names if n.startswith("TOLLAMA_")} - SETTING_VARIABLES)
