"""deploy/kubernetes: every overlay rendered by ``kubectl kustomize`` and checked against the Kubernetes
schemas (``kubernetes-validate``, offline) and against the repository: settings, images, ports, routes.

No cluster runs here: the manifests are rendered and validated, not deployed (docs/scale-out.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from fakes import LastValueAdapter
from litestar.testing import TestClient
from settings_table import unknown_settings
from tollama import metrics
from tollama.api import system
from tollama.runtime.static import parse_workers
from tollama.settings import Settings
from tollama_kit.server import create_worker_app

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
OVERLAYS = ("cpu", "gpu")
# Families the gpu overlay keeps on CPU: baseline (statsforecast) and tirex (its CUDA kernel needs nvcc,
# which the CUDA image lacks; docs/families/tirex.md).
CPU_IN_GPU_OVERLAY = {"baseline", "tirex"}
# The schemas checked against: kubectl's own minor version on these machines.
KUBERNETES_VERSION = "1.32"

Doc = dict[str, Any]


def _kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("kubectl is not on PATH: CI machines have it (the manifests must be rendered there)")
        pytest.skip("kubectl is not on PATH: cannot render deploy/kubernetes (CI has it and fails instead)")
    return found


def _render(directory: Path) -> list[Doc]:
    out = subprocess.run([_kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    assert docs
    return docs


def _with_autoscaling(overlay: str, tmp: Path) -> Path:
    """The overlay with its commented ``components:`` lines switched on, as a user would, in ``tmp``."""
    text = (KUBE / "overlays" / overlay / "kustomization.yaml").read_text()
    on = re.sub(r"^# (components:|  - \.\./\.\./components/autoscaling)$", r"\1", text, flags=re.M)
    assert on != text, "the overlay no longer carries the commented autoscaling component"
    kube = os.path.relpath(KUBE, tmp)
    (tmp / "kustomization.yaml").write_text(on.replace("../../", f"{kube}/"))
    return tmp


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Doc]]:
    out = {name: _render(KUBE / "overlays" / name) for name in OVERLAYS}
    for name in OVERLAYS:
        out[f"{name}+autoscaling"] = _render(_with_autoscaling(name, tmp_path_factory.mktemp(name)))
    return out


def _kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


def _workers(docs: list[Doc]) -> dict[str, Doc]:
    return {
        d["metadata"]["labels"]["tollama.dev/family"]: d
        for d in _kind(docs, "Deployment")
        if d["metadata"]["labels"].get("app.kubernetes.io/component") == "worker"
    }


def _gateway(docs: list[Doc]) -> Doc:
    (gateway,) = [d for d in _kind(docs, "Deployment") if d["metadata"]["labels"]["app.kubernetes.io/component"] == "gateway"]
    return gateway


def _container(deployment: Doc) -> Doc:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _env(container: Doc) -> dict[str, Doc]:
    return {e["name"]: e for e in container.get("env", [])}


@pytest.mark.parametrize("name", [*OVERLAYS, *(f"{o}+autoscaling" for o in OVERLAYS)])
def test_every_rendered_manifest_matches_the_kubernetes_schemas_offline(
    rendered: dict[str, list[Doc]], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("kubernetes-validate tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    for doc in rendered[name]:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_a_bad_manifest(rendered: dict[str, list[Doc]]) -> None:
    bad = json.loads(json.dumps(_gateway(rendered["cpu"])))
    bad["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBERNETES_VERSION, strict=True)
    bad = json.loads(json.dumps(_gateway(rendered["cpu"])))
    bad["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGett"] = {"path": "/healthz"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBERNETES_VERSION, strict=True)


def test_every_tollama_variable_the_manifests_set_is_a_setting(rendered: dict[str, list[Doc]]) -> None:
    for name, docs in rendered.items():
        used = {
            var
            for d in _kind(docs, "Deployment")
            for c in d["spec"]["template"]["spec"]["containers"]
            for var in _env(c)
            if var.startswith("TOLLAMA_")
        }
        assert {"TOLLAMA_RUNTIME", "TOLLAMA_STATIC_WORKERS", "TOLLAMA_API_KEYS"} <= used, name
        assert not unknown_settings(used), f"{name}: not in the settings table: {unknown_settings(used)}"


def test_the_gateway_settings_parse(rendered: dict[str, list[Doc]]) -> None:
    env = {k: v["value"] for k, v in _env(_container(_gateway(rendered["cpu"]))).items() if "value" in v}
    settings = Settings.from_env(env)
    assert settings.runtime == "static"
    assert (settings.host, settings.port) == ("0.0.0.0", 11435)
    assert settings.store_dir == Path("/var/lib/tollama/models")


def test_the_gateway_runs_static_against_every_family_service(rendered: dict[str, list[Doc]]) -> None:
    for name, docs in rendered.items():
        gateway = _container(_gateway(docs))
        env = _env(gateway)
        assert env["TOLLAMA_RUNTIME"]["value"] == "static"
        static = parse_workers(env["TOLLAMA_STATIC_WORKERS"]["value"])
        workers = _workers(docs)
        assert set(static) == set(workers), name
        services = {s["metadata"]["name"]: s for s in _kind(docs, "Service")}
        for family, urls in static.items():
            (url,) = urls  # one headless Service per family: its name resolves to every ready pod
            parts = urlsplit(url)
            service = services[parts.hostname or ""]
            assert service["spec"]["clusterIP"] == "None", f"{family}: its Service must be headless"
            pod_labels = workers[family]["spec"]["template"]["metadata"]["labels"]
            assert service["spec"]["selector"].items() <= pod_labels.items()
            (port,) = service["spec"]["ports"]
            assert port["port"] == parts.port
            (container_port,) = _container(workers[family])["ports"]
            assert port["targetPort"] in (container_port["name"], container_port["containerPort"])
        keys = env["TOLLAMA_API_KEYS"]["valueFrom"]["secretKeyRef"]
        assert keys["name"] == "tollama-api-keys"
        assert "optional" not in keys, "the gateway must not start without its API keys"


def _dockerfile_worker_port() -> int:
    text = (ROOT / "images" / "worker.Dockerfile").read_text()
    (cmd_port,) = re.findall(r"^CMD .*python -m tollama_kit .*--port (\d+)", text, flags=re.M)
    (exposed,) = re.findall(r"^EXPOSE (\d+)$", text, flags=re.M)
    assert cmd_port == exposed
    return int(cmd_port)


def _image_name(family: str, variant: str) -> str:
    """The tag scripts/build-image.sh gives (its default prefix, read from the script)."""
    script = (ROOT / "scripts" / "build-image.sh").read_text()
    (prefix,) = re.findall(r"^prefix=\$\{TOLLAMA_IMAGE_PREFIX:-([a-z0-9./-]+)\}$", script, flags=re.M)
    assert 'tag="$prefix/$family:$variant"' in script
    assert (ROOT / "families" / family / f"requirements-{variant}.lock").is_file(), f"build-image.sh cannot build {family}:{variant}"
    return f"{prefix}/{family}:{variant}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_worker_images_and_ports_are_the_ones_the_build_and_the_kit_use(rendered: dict[str, list[Doc]], overlay: str) -> None:
    port = _dockerfile_worker_port()
    workers = _workers(rendered[overlay])
    adapters = {p.parent.name.removeprefix("tollama_") for p in (ROOT / "families").glob("*/src/tollama_*/adapter.py")}
    assert set(workers) <= adapters, "a Deployment for a family without an adapter"
    assert {"baseline", "chronos"} <= set(workers)
    for family, deployment in workers.items():
        container = _container(deployment)
        variant = "cuda" if overlay == "gpu" and family not in CPU_IN_GPU_OVERLAY else "cpu"
        assert container["image"] == _image_name(family, variant)
        assert "command" not in container and "args" not in container, "the image's own CMD starts the kit"
        (container_port,) = container["ports"]
        assert container_port["containerPort"] == port
        assert _env(container)["OMP_NUM_THREADS"]["value"] == container["resources"]["limits"]["cpu"], family


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_point_at_real_routes(rendered: dict[str, list[Doc]], overlay: str) -> None:
    gateway_paths = {path for handler in system.ROUTES for path in handler.paths}
    gateway = _container(_gateway(rendered[overlay]))
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"/healthz", "/readyz"} <= gateway_paths
    (gateway_port,) = gateway["ports"]
    assert gateway_port["containerPort"] == Settings().port == int(_env(gateway)["TOLLAMA_PORT"]["value"])

    worker_paths = {
        c[probe]["httpGet"]["path"]
        for d in _workers(rendered[overlay]).values()
        for c in [_container(d)]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    with TestClient(create_worker_app(LastValueAdapter())) as client:
        for path in worker_paths:
            assert client.get(path).status_code == 200, path


def test_the_model_store_is_shared_read_write_by_the_gateway_and_read_only_by_workers(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["cpu"]
    (claim,) = _kind(docs, "PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    gateway = _gateway(docs)
    store = f"{_env(_container(gateway))['TOLLAMA_HOME']['value']}/models"

    def mount(deployment: Doc) -> tuple[Doc, Doc]:
        (volume_mount,) = [m for m in _container(deployment)["volumeMounts"] if m["mountPath"] == store]
        (volume,) = [v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == volume_mount["name"]]
        assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
        return volume_mount, volume

    gateway_mount, _ = mount(gateway)
    assert not gateway_mount.get("readOnly", False)
    for family, deployment in _workers(docs).items():
        worker_mount, volume = mount(deployment)
        assert worker_mount["readOnly"] is True, family
        assert volume["persistentVolumeClaim"]["readOnly"] is True, family


def _gpus(container: Doc) -> tuple[object, object]:
    resources = container.get("resources", {})
    return resources.get("requests", {}).get("nvidia.com/gpu"), resources.get("limits", {}).get("nvidia.com/gpu")


def test_the_gpu_overlay_requests_gpus_and_the_cpu_one_does_not(rendered: dict[str, list[Doc]]) -> None:
    assert "nvidia.com/gpu" not in json.dumps(rendered["cpu"])
    for family, deployment in _workers(rendered["cpu"]).items():
        assert _gpus(_container(deployment)) == (None, None), family
    gpu_families = 0
    for family, deployment in _workers(rendered["gpu"]).items():
        pod = deployment["spec"]["template"]["spec"]
        if family in CPU_IN_GPU_OVERLAY:
            assert _gpus(_container(deployment)) == (None, None)
            assert "nvidia.com/gpu.present" not in pod["nodeSelector"]
            continue
        gpu_families += 1
        assert _gpus(_container(deployment)) == (1, 1), family
        assert pod["nodeSelector"]["nvidia.com/gpu.present"] == "true"
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    assert gpu_families >= 5
    assert _gpus(_container(_gateway(rendered["gpu"]))) == (None, None)


def test_each_family_autoscaler_counts_its_catalogue_models(rendered: dict[str, list[Doc]]) -> None:
    catalogue = yaml.safe_load((ROOT / "registry.yaml").read_text())["models"]
    for name in ("cpu+autoscaling", "gpu+autoscaling"):
        docs = rendered[name]
        workers = {d["metadata"]["name"]: d for d in _workers(docs).values()}
        autoscalers = _kind(docs, "HorizontalPodAutoscaler")
        assert len(autoscalers) == len(workers)
        for hpa in autoscalers:
            assert hpa["metadata"]["namespace"] == workers[hpa["spec"]["scaleTargetRef"]["name"]]["metadata"]["namespace"]
            family = workers[hpa["spec"]["scaleTargetRef"]["name"]]["metadata"]["labels"]["tollama.dev/family"]
            (metric,) = hpa["spec"]["metrics"]
            assert metric["external"]["metric"]["name"] == "tollama_requests_in_flight"
            assert '"tollama_requests_in_flight"' in Path(metrics.__file__).read_text(), "the gateway no longer exports the gauge"
            (expression,) = metric["external"]["metric"]["selector"]["matchExpressions"]
            expected = {f"{model}:latest" for model, entry in catalogue.items() if entry["family"] == family}
            assert set(expression["values"]) == expected, family
    assert not _kind(rendered["cpu"], "HorizontalPodAutoscaler")
