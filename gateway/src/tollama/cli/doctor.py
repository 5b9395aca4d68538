"""``tollama doctor``: what is set up and what is not, one pass / warn / fail line each, with the fix.

Checks Python and uv, the free disk in ``TOLLAMA_HOME``, each family's environment (present, built
from the locks in this checkout), the Docker engine and its compose plugin (when the runtime may
use Docker), the server (reachable, version, runtime) and the model hub (endpoint and token).
Environments are looked for where the server looks (``/api/info``), else where this CLI's
settings point. Exit code: 0 all pass · 1 a warning · 2 a failure.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from tollama import __version__
from tollama.settings import Settings

Status = Literal["pass", "warn", "fail"]
EXIT = {"pass": 0, "warn": 1, "fail": 2}
GB = 1e9


@dataclass(frozen=True)
class Check:
    check: str
    status: Status
    detail: str
    fix: str = ""


def _python() -> Check:
    v = sys.version_info
    text = f"{v.major}.{v.minor}.{v.micro} ({sys.executable})"
    if v[:2] < (3, 11):
        return Check("python", "fail", text, "tollama needs Python 3.11 or newer")
    return Check("python", "pass", text)


def _uv() -> Check:
    from tollama.errors import RuntimeNotInstalled
    from tollama.runtime.environments import find_uv

    try:
        uv = find_uv()
    except RuntimeNotInstalled as exc:
        return Check("uv", "fail", "not found: family runtimes cannot be built", exc.message.split("; ", 1)[-1])
    try:
        out = subprocess.run([*uv, "--version"], capture_output=True, text=True, timeout=10, check=False).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("uv", "fail", f"{uv[0]} does not run ({exc})", "reinstall uv: pip install uv")
    return Check("uv", "pass", f"{out or 'uv'} ({uv[0]})")


def _disk(home: Path) -> Check:
    probe = home
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    text = f"{free / GB:.1f} GB free in {home}" + ("" if home.exists() else f" (not created yet; measured at {probe})")
    fix = "free disk space or point TOLLAMA_HOME at a larger disk (a family runtime takes 1-2 GB, a model up to a few GB)"
    if free < 2 * GB:
        return Check("disk", "fail", text, fix)
    if free < 10 * GB:
        return Check("disk", "warn", text, fix)
    return Check("disk", "pass", text)


def _environments(settings: Settings, runtimes_dir: Path, variant: str) -> list[Check]:
    from tollama.cli.runtimes import install_command
    from tollama.runtime.environments import (
        ENV_FILE,
        EnvironmentError_,
        env_dir,
        env_python,
        family_sources,
        lock_digest,
    )

    sources = family_sources(*settings.family_roots)
    if not sources:
        return [Check("runtimes", "fail", f"no family sources in {settings.families_dir}", "set TOLLAMA_FAMILIES_DIR to the checkout's families/ folder")]
    checks = []
    for name, source in sources.items():
        path = env_dir(runtimes_dir, name, variant)  # type: ignore[arg-type]
        fix = install_command(name, runtimes_dir, variant, settings)
        label = f"runtime {name}"
        if not env_python(path).exists():
            checks.append(Check(label, "warn", f"not installed in {runtimes_dir}", fix))
            continue
        try:
            meta = json.loads((path / ENV_FILE).read_text())
            expected = lock_digest(source, variant, tests=bool(meta.get("tests")))  # type: ignore[arg-type]
        except (OSError, ValueError, EnvironmentError_) as exc:
            checks.append(Check(label, "warn", f"{path}: cannot read what it was built from ({exc})", fix))
            continue
        if meta.get("lock_digest") != expected:
            checks.append(Check(label, "warn", f"{path} was built from other lock files (digest {meta.get('lock_digest')}, now {expected})", fix))
        else:
            checks.append(Check(label, "pass", f"{path} (lock digest {expected})"))
    return checks


def _docker(required: bool) -> list[Check]:
    import docker

    level: Status = "fail" if required else "warn"
    try:
        client = docker.from_env(timeout=5)
        version = client.version().get("Version", "?")
        client.close()
    except Exception as exc:  # noqa: BLE001 - any failure to reach the engine is the answer
        why = "TOLLAMA_RUNTIME=docker needs it" if required else "the auto runtime falls back to process environments"
        return [Check("docker engine", level, f"not reachable ({type(exc).__name__}); {why}",
                      "start the Docker engine (`just docker-engine` on Debian/Ubuntu) or set DOCKER_HOST")]
    checks = [Check("docker engine", "pass", f"Docker {version}")]
    try:
        proc = subprocess.run(["docker", "compose", "version", "--short"], capture_output=True, text=True, timeout=15, check=False)
        ok, text = proc.returncode == 0, proc.stdout.strip() or proc.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        ok, text = False, str(exc)
    if ok:
        checks.append(Check("docker compose", "pass", f"compose {text}"))
    else:
        checks.append(Check("docker compose", "warn", f"the compose plugin does not answer ({text[:120]})",
                            "install it (`just docker-engine` installs it into ~/.docker/cli-plugins)"))
    return checks


def _server(settings: Settings) -> tuple[Check, dict[str, Any] | None]:
    try:
        info = httpx.get(f"{settings.base_url}/api/info", timeout=5).raise_for_status().json()
    except (httpx.HTTPError, ValueError) as exc:
        return Check("server", "warn", f"not reachable at {settings.base_url} ({type(exc).__name__})",
                     "start it with `tollama serve` (or set TOLLAMA_HOST / TOLLAMA_PORT to where it runs)"), None
    text = f"tollama {info.get('version')} at {settings.base_url}, runtime {info.get('runtime')}"
    if info.get("version") != __version__:
        return Check("server", "warn", f"{text}; this CLI is {__version__}", "run the same tollama version on both sides"), info
    return Check("server", "pass", text), info


def _hub(settings: Settings) -> list[Check]:
    endpoint = settings.hf_endpoint.rstrip("/")
    try:
        httpx.head(endpoint, timeout=5)
    except httpx.HTTPError as exc:
        return [Check("hub", "warn", f"{endpoint} is not reachable ({type(exc).__name__}): pull will fail",
                      "check the network, or set HF_ENDPOINT to a reachable mirror")]
    checks = [Check("hub", "pass", f"{endpoint} answers")]
    if not settings.hf_token:
        checks.append(Check("hub token", "pass", "not set (needed only for gated or private repositories)"))
        return checks
    try:
        status = httpx.get(f"{endpoint}/api/whoami-v2", headers={"authorization": f"Bearer {settings.hf_token}"}, timeout=5).status_code
    except httpx.HTTPError as exc:
        return [*checks, Check("hub token", "warn", f"could not be checked ({type(exc).__name__})")]
    if status in (401, 403):
        return [*checks, Check("hub token", "fail", f"HF_TOKEN is rejected by {endpoint} (HTTP {status})", "set HF_TOKEN to a valid token")]
    if status != 200:
        return [*checks, Check("hub token", "warn", f"could not be checked (HTTP {status} from {endpoint}/api/whoami-v2)")]
    return [*checks, Check("hub token", "pass", "HF_TOKEN accepted")]


def run_checks(settings: Settings) -> list[Check]:
    checks = [_python(), _uv(), _disk(settings.home)]
    server, info = _server(settings)
    where = (info or {}).get("environments")
    runtimes_dir, variant = (Path(where["dir"]), str(where["variant"])) if where else (settings.runtimes_dir, settings.variant)
    runtime = str((info or {}).get("runtime") or settings.runtime)
    if where or runtime in ("auto", "process"):
        checks += _environments(settings, runtimes_dir, variant)
    if "docker" in runtime or settings.runtime in ("auto", "docker"):
        checks += _docker(required=runtime == "docker" or settings.runtime == "docker")
    checks.append(server)
    checks += _hub(settings)
    return checks


def report(checks: list[Check], *, as_json: bool, write: Callable[[str], Any] = sys.stdout.write) -> int:
    worst: Status = max((c.status for c in checks), key=EXIT.__getitem__, default="pass")
    if as_json:
        write(json.dumps({"status": worst, "checks": [asdict(c) for c in checks]}, indent=2) + "\n")
        return EXIT[worst]
    width = max(len(c.check) for c in checks)
    for c in checks:
        write(f"{c.status:<4}  {c.check:<{width}}  {c.detail}" + (f" — fix: {c.fix}" if c.fix and c.status != "pass" else "") + "\n")
    counts = {s: sum(c.status == s for c in checks) for s in EXIT}
    write(f"\n{counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail\n")
    return EXIT[worst]
