"""Orphan cleanup at start-up: remove this instance's managed containers whose gateway is gone.

Containers of a live owner (:mod:`tollama.runtime.owner`) are kept, so two gateways sharing an
engine and an instance label never remove each other's workers; a container already going away
(gone between the listing and its inspection, 404, or 409 "removal already in progress") is not an error."""

from __future__ import annotations

import logging
from typing import Any

import docker.errors

from tollama.runtime.docker_engine import FAMILY, engine_errors
from tollama.runtime.owner import OWNER, owner_alive

log = logging.getLogger("tollama.runtime.docker")


def remove_orphans(client: Any, label_filter: list[str]) -> list[str]:
    """Blocking: the ids of the containers removed."""
    removed = []
    with engine_errors("removing orphaned worker containers"):
        for container in client.containers.list(all=True, filters={"label": label_filter}, ignore_removed=True):
            owner = container.labels.get(OWNER)
            if owner_alive(owner):
                log.info("keeping worker container %s: its gateway %s is alive", container.name, owner)
                continue
            log.warning("removing orphaned worker container %s (%s)", container.name, container.labels.get(FAMILY))
            try:
                container.remove(force=True)
            except docker.errors.NotFound:
                continue
            except docker.errors.APIError as exc:
                if exc.status_code != 409:
                    raise
                log.info("worker container %s is already being removed", container.name)
                continue
            removed.append(container.id)
    return removed
