"""The image cache: which families have a ``<prefix>/<family>:<variant>`` image.

``check()`` on the hot path reads a cached answer (trusted for :data:`IMAGE_TTL` seconds, then
refreshed in the background); ``get()`` before a start is the authoritative look-up, which also
checks the image's ``tollama.family`` and ``tollama.protocol`` labels."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from tollama_kit.protocol import PROTOCOL_VERSION

from tollama.errors import RuntimeNotInstalled, TollamaError
from tollama.runtime.docker_engine import FAMILY, engine_errors

IMAGE_TTL = 5.0  # seconds a cached "image exists?" answer is trusted


class WorkerImages:
    def __init__(self, client: Any, prefix: str, variant: str) -> None:
        self.client = client
        self.prefix = prefix.rstrip("/")
        self.variant = variant
        self._found: dict[str, bool] = {}
        self._at = 0.0
        self._refresh: asyncio.Task[None] | None = None

    def name(self, family: str) -> str:
        return f"{self.prefix}/{family}:{self.variant}"

    def refresh(self) -> None:
        """Blocking: which families have an image of this variant (labels checked)."""
        found: dict[str, bool] = {}
        with engine_errors("listing worker images"):
            for image in self.client.images.list(filters={"label": FAMILY}):
                family = image.labels.get(FAMILY, "")
                if self.name(family) in image.tags:
                    found[family] = True
        self._found = found
        self._at = time.monotonic()

    def cached(self, family: str) -> bool | None:
        """True / False, or None when the cache is stale (a refresh is scheduled)."""
        if time.monotonic() - self._at <= IMAGE_TTL:
            return self._found.get(family, False)
        self._schedule_refresh()
        return self._found.get(family) or None

    def _schedule_refresh(self) -> None:
        if self._refresh is not None and not self._refresh.done():
            return
        with contextlib.suppress(RuntimeError):  # no running loop: the next start() refreshes
            self._refresh = asyncio.get_running_loop().create_task(self._refresh_quietly())

    async def _refresh_quietly(self) -> None:
        with contextlib.suppress(TollamaError):
            await asyncio.to_thread(self.refresh)

    def get(self, family: str) -> Any:
        """Blocking, authoritative: the family's image, or RuntimeNotInstalled."""
        name = self.name(family)
        try:
            with engine_errors(f"looking up {name}", family):
                image = self.client.images.get(name)
        except RuntimeNotInstalled:
            self._found[family] = False
            raise RuntimeNotInstalled(
                f"the {family} image {name} is not built; run `just image {family} {self.variant}` "
                f"or `docker compose --profile build build {family}`",
                family=family,
                runtime="docker",
            ) from None
        labels = image.labels or {}
        if labels.get(FAMILY) != family:
            raise RuntimeNotInstalled(
                f"{name} is not a tollama {family} worker image (label {FAMILY})", family=family, runtime="docker"
            )
        if labels.get("tollama.protocol") != str(PROTOCOL_VERSION):
            raise RuntimeNotInstalled(
                f"{name} speaks worker protocol {labels.get('tollama.protocol')!r}, this gateway {PROTOCOL_VERSION}: rebuild it",
                family=family,
                runtime="docker",
            )
        self._found[family] = True
        return image

    async def exists(self, family: str) -> bool:
        try:
            await asyncio.to_thread(self.get, family)
        except RuntimeNotInstalled:
            return False
        return True

    async def close(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresh
