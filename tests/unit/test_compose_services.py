"""compose.yaml's build-only family services are generated from the family manifests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from tollama_kit.manifest import discover, listed

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import gen_compose  # noqa: E402

MANIFESTS = listed(discover([ROOT / "families"]))


def test_compose_yaml_is_what_the_generator_writes() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_compose.py"), "--check"],
                          capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_each_listed_family_has_a_build_service_with_its_python_and_the_protocol_label() -> None:
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    built = {name: s for name, s in services.items() if s.get("profiles") == ["build"]}
    assert sorted(built) == sorted(m.name for m in MANIFESTS)
    assert "toto2" in built  # the family on Python 3.12 is among them
    for manifest in MANIFESTS:
        service = built[manifest.name]
        args = service["build"]["args"]
        assert service["image"] == f"tollama/{manifest.name}:${{TOLLAMA_VARIANT:-cpu}}"
        assert service["build"]["dockerfile"] == "images/worker.Dockerfile"
        assert args["FAMILY"] == manifest.name
        assert args["PROTOCOL_VERSION"] == str(gen_compose.PROTOCOL_VERSION)
        assert args["BASE_IMAGE"].endswith(f":-python:{manifest.python}-slim}}"), args["BASE_IMAGE"]
    assert services["gateway"].get("profiles") is None  # `docker compose up` starts the gateway only


def test_a_family_added_or_removed_changes_the_generated_services_and_nothing_else() -> None:
    text = (ROOT / "compose.yaml").read_text()
    fewer = gen_compose.render(text, MANIFESTS[1:])
    assert fewer != text
    assert f"  {MANIFESTS[0].name}:\n" not in fewer
    assert gen_compose.render(fewer, MANIFESTS) == text
    outside = text.split(gen_compose.BEGIN)[0], text.split(gen_compose.END)[1]
    assert (fewer.split(gen_compose.BEGIN)[0], fewer.split(gen_compose.END)[1]) == outside
