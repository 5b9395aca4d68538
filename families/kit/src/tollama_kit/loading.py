"""Small steps every adapter's ``describe`` and ``load`` take: library versions, required files."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from tollama_kit.errors import LoadFailed


def library_versions(*dists: str) -> dict[str, str]:
    """``{distribution: version}`` for the installed ones among ``dists`` (for ``/v1/info``)."""
    out = {}
    for dist in dists:
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            continue
    return out


def require_files(name: str, root: Path, files: tuple[str, ...], layout: str) -> None:
    """:class:`LoadFailed` naming the first of ``files`` missing from checkpoint ``root``;
    ``layout`` says what the checkpoint should hold (e.g. ``"a Toto checkpoint is config.json + model.safetensors"``)."""
    for needed in files:
        if not (root / needed).is_file():
            raise LoadFailed(f"{name}: {root / needed} is missing ({layout})")
