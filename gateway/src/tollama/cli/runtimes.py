"""Installing a family runtime for the server: where it looks, after asking, at most once.

The server says where its process runtime looks for environments (``runtimes_dir`` and
``variant`` in a ``runtime_not_installed`` answer, ``environments`` in ``/api/info``); the CLI
installs there, not into its own ``TOLLAMA_HOME``. An install is large (a Python environment,
PyTorch included for every model family but the baselines), so the CLI asks first: ``--yes``
answers for the user, and without a terminal it never asks and stops with the command to run.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

from tollama.cli.inputs import InputError
from tollama.errors import RuntimeNotInstalled
from tollama.settings import Settings

_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "0.0.0.0")


class InstallDeclined(RuntimeNotInstalled):
    """The user answered no (or could not be asked): the message says how to install."""


def ask(question: str) -> bool:
    """``[Y/n]`` on the terminal (the question on stderr, so stdout stays the command's output);
    end of input (Ctrl-D, a closed stdin) answers no, and the caller's one line says what was not done."""
    sys.stderr.write(f"{question} [Y/n] ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    if not answer:  # end of input
        sys.stderr.write("\n")
        return False
    return answer.strip().lower() in ("", "y", "yes")


def install_command(family: str, runtimes_dir: Path, variant: str, settings: Settings) -> str:
    """The command that installs ``family`` where the server looks."""
    env = []
    if runtimes_dir != settings.runtimes_dir:
        env.append(f"TOLLAMA_RUNTIMES={shlex.quote(str(runtimes_dir))}")
    if variant != settings.variant:
        env.append(f"TOLLAMA_VARIANT={variant}")
    return " ".join([*env, "tollama", "runtime", "install", family])


def install_runtime(family: str, settings: Settings, *, runtimes_dir: Path | None = None, variant: str | None = None) -> Path:
    """Build ``family``'s environment (default: this CLI's ``TOLLAMA_RUNTIMES``/``TOLLAMA_HOME``), once."""
    from tollama.runtime.environments import family_sources, find_uv, install

    sources = family_sources(*settings.family_roots)
    if family not in sources:
        raise InputError(f"unknown family {family!r}; known: {', '.join(sources)}")
    find_uv()  # a missing uv is one line before anything starts
    folder, kind = runtimes_dir or settings.runtimes_dir, variant or settings.variant
    sys.stderr.write(f"installing the {family} runtime ({kind}) into {folder} …\n")
    path = install(sources[family], settings.families_dir / "kit", folder, variant=kind,  # type: ignore[arg-type]
                   torch_index_url=settings.torch_index_url or None, log=_log)
    sys.stderr.write(f"installed {path}\n")
    return path


def _log(message: str) -> None:
    sys.stderr.write(f"  + {message}\n")


def offer_after_pull(family: str, info: dict[str, Any], settings: Settings, *, install: bool | None) -> None:
    """After ``tollama pull``: offer the family's runtime when the server's process runtime lacks it."""
    from tollama.runtime.environments import env_dir, env_python

    where = info.get("environments")
    if info.get("runtime") != "process" or not where:  # docker images or static workers: nothing to build here
        return
    runtimes_dir, variant = Path(where["dir"]), str(where["variant"])
    if env_python(env_dir(runtimes_dir, family, variant)).exists():  # type: ignore[arg-type]
        return
    command = install_command(family, runtimes_dir, variant, settings)
    if install is None and sys.stdin.isatty() and settings.host in _LOCAL_HOSTS:
        install = ask(f"the {family} runtime ({_size_note(family, settings)}) is not installed in {runtimes_dir}; install it now?")
    if install and settings.host in _LOCAL_HOSTS:
        install_runtime(family, settings, runtimes_dir=runtimes_dir, variant=variant)
    else:
        sys.stderr.write(f"note: forecasting needs the {family} runtime: `{command}`\n")


def _size_note(family: str, settings: Settings) -> str:
    from tollama.runtime.environments import family_sources

    source = family_sources(*settings.family_roots).get(family)
    if source is not None and source.torch_pin:
        return "its own Python environment with PyTorch, over a gigabyte"
    return "its own Python environment"


def install_for_server(body: dict[str, Any], settings: Settings, *, yes: bool, model: str) -> None:
    """Install the family a ``runtime_not_installed`` answer names, into the server's folder.

    Raises :class:`InstallDeclined` (with the command to run) when the user says no or cannot be
    asked, and :class:`RuntimeNotInstalled` when the server uses no process runtime or runs elsewhere."""
    family = str(body.get("family") or "")
    folder = body.get("runtimes_dir")
    if not family or folder is None:  # docker only or static: an image or a worker is missing, not an env
        raise RuntimeNotInstalled(str(body.get("error") or f"model {model!r} cannot be served: its runtime is missing"))
    runtimes_dir, variant = Path(str(folder)), str(body.get("variant") or settings.variant)
    command = install_command(family, runtimes_dir, variant, settings)
    if settings.host not in _LOCAL_HOSTS:
        raise RuntimeNotInstalled(f"model {model!r} needs the {family} runtime on the server's machine ({settings.host}): run `{command}` there")
    note = f"model {model!r} needs the {family} runtime ({_size_note(family, settings)}), not installed in {runtimes_dir}"
    if not yes:
        if not sys.stdin.isatty():
            raise InstallDeclined(f"{note}; install it with `{command}` (or run again with --yes)")
        if not ask(f"{note}. Install it now?"):
            raise InstallDeclined(f"the {family} runtime was not installed; install it later with `{command}`")
    install_runtime(family, settings, runtimes_dir=runtimes_dir, variant=variant)
