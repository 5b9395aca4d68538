"""Family manifests: each family declares itself once, in its folder; the gateway reads that as data."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tollama.families import Families, ManifestError
from tollama.registry import Registry
from tollama.settings import Settings
from tollama_kit.manifest import discover, listed

ROOT = Path(__file__).resolve().parents[2]
FAMILIES = Families.load([ROOT / "families"])
REGISTRY = Registry.load(Settings().registry_file, FAMILIES)


def test_every_options_json_is_generated_from_its_struct() -> None:
    # In a subprocess: the generator imports the families' options modules, which the gateway never does.
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_family_options.py"), "--check"],
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_every_listed_family_declares_options_and_catalogue_models_of_its_own() -> None:
    names = [m.name for m in listed(discover([ROOT / "families"]))]
    assert set(names) >= {"baseline", "chronos", "granite", "sundial", "timesfm", "tirex", "toto", "uni2ts"}
    for manifest in listed(discover([ROOT / "families"])):
        assert manifest.option_names, f"{manifest.name}: no options.json"
        # covariate policy is the gateway's alone: no family reads covariates_mode
        assert "covariates_mode" not in manifest.option_names, manifest.name
        named = [manifest.default_model, *(r.model for r in manifest.detect if r.model), *(c.model for c in manifest.check)]
        for model in named:
            entry = REGISTRY.get(str(model))
            assert entry is not None and entry.family == manifest.name, (manifest.name, model)


# What config.json says -> (family, catalogue model); written out from the catalogue, not from the manifests.
CONFIGS = [
    ({"chronos_pipeline_class": "ChronosBoltPipeline"}, ("chronos", "chronos-bolt-base")),
    ({"chronos_pipeline_class": "Chronos2Pipeline"}, ("chronos", "chronos-2")),
    ({"chronos_pipeline_class": "ChronosPipeline", "model_type": "t5"}, ("chronos", "chronos-t5-base")),
    ({"stack_config": {}, "tokenizer_cfg": {}, "future_len": 32}, ("tirex", "tirex-2")),
    ({"model_type": "flowstate"}, ("granite", "granite-flowstate-r1.1")),
    ({"model_type": "patchtst_fm"}, ("granite", "granite-patchtst-fm-r1")),
    ({"model_type": "TinyTimeMixer"}, ("granite", "granite-ttm-r2")),
    ({"model_type": "sundial"}, ("sundial", "sundial-base-128m")),
    ({"model_type": "timesfm_2p5"}, ("timesfm", "timesfm-2.5-200m")),
    ({"model_type": "moirai"}, ("uni2ts", "moirai-1.1-r-small")),
    ({"model_type": "toto"}, ("toto", "toto-open-base-1.0")),
    # the keys of a config.json that Toto2Model.save_pretrained wrote (toto-2 2.0.0)
    ({"d_model": 64, "layer_group_size": 2, "num_variate_layers_per_group": 1, "residual_attn_ratio": 3.04,
      "patch_size": 16, "variate_layer_first": False}, ("toto2", "toto-2.0-4m")),
]


@pytest.mark.parametrize(("config", "expected"), CONFIGS, ids=[e[1][1] for e in CONFIGS])
def test_checkpoints_are_recognised_by_their_manifests(tmp_path: Path, config: dict, expected: tuple[str, str]) -> None:
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert FAMILIES.detect(tmp_path) == expected


def test_an_unknown_or_missing_config_is_no_family(tmp_path: Path) -> None:
    assert FAMILIES.detect(tmp_path) is None
    (tmp_path / "config.json").write_text('{"model_type": "llama"}')
    assert FAMILIES.detect(tmp_path) is None
    (tmp_path / "config.json").write_text("[1, 2]")
    assert FAMILIES.detect(tmp_path) is None


def test_family_options_come_from_the_manifests() -> None:
    assert FAMILIES.honours("uni2ts", "patch_size") and not FAMILIES.honours("chronos", "patch_size")
    assert FAMILIES.honours("baseline", "season_length") and not FAMILIES.honours("toto", "season_length")
    assert FAMILIES.honours("chronos", "dtype") and not FAMILIES.honours("timesfm", "dtype")
    assert not FAMILIES.honours("no-such-family", "context_length")


def _family(root: Path, name: str, table: str) -> Path:
    folder = root / name
    (folder / "src" / f"tollama_{name}").mkdir(parents=True)
    (folder / "pyproject.toml").write_text(f'[project]\nname = "tollama-{name}"\n\n[tool.tollama]\n{table}')
    return folder


def test_a_malformed_manifest_is_one_error_naming_its_file(tmp_path: Path) -> None:
    folder = _family(tmp_path, "odd", 'default_model = "x"\n\n[[tool.tollama.detect]]\nequals = "a"\ncontains = "b"\n')
    with pytest.raises(ManifestError, match=r"odd/pyproject\.toml.*exactly one of equals, contains or keys"):
        Families.load([tmp_path])
    (folder / "pyproject.toml").write_text('[tool.tollama]\ndefault_modle = "x"\n')
    with pytest.raises(ManifestError, match="default_modle"):
        Families.load([tmp_path])


def test_a_family_in_two_folders_is_refused(tmp_path: Path) -> None:
    _family(tmp_path / "a", "twin", 'default_model = "x"\n')
    _family(tmp_path / "b", "twin", 'default_model = "y"\n')
    with pytest.raises(ManifestError, match="'twin' is in two folders"):
        Families.load([tmp_path / "a", tmp_path / "b"])


def test_capability_defaults_fill_what_a_registry_entry_leaves_out(tmp_path: Path) -> None:
    _family(tmp_path, "echo", 'default_model = "echo-last"\n\n[tool.tollama.capabilities]\nmax_context = 64\nmissing_values = false\n')
    registry = tmp_path / "registry.yaml"
    registry.write_text(
        "version: 1\nmodels:\n"
        "  echo-last: {family: echo, description: d, license: mit, builtin: true, capabilities: {max_horizon: 8}}\n"
        "  echo-wide: {family: echo, description: d, license: mit, builtin: true, capabilities: {max_horizon: 8, max_context: 512}}\n"
    )
    reg = Registry.load(registry, Families.load([tmp_path]))
    last, wide = reg.get("echo-last"), reg.get("echo-wide")
    assert last is not None and wide is not None
    assert (last.capabilities.max_context, last.capabilities.missing_values) == (64, False)
    assert wide.capabilities.max_context == 512  # the entry's own value wins
    with pytest.raises(Exception, match="max_context"):
        Registry.load(registry)  # without the manifest the entry is incomplete


def test_families_dirs_adds_folders_after_the_builtin_one(tmp_path: Path) -> None:
    settings = Settings.from_env({"TOLLAMA_FAMILIES_DIRS": f"{tmp_path / 'x'}, {tmp_path / 'y'}"})
    assert settings.family_roots == (settings.families_dir, tmp_path / "x", tmp_path / "y")
    from tollama.runtime.environments import EnvironmentError_, family_sources

    _family(tmp_path / "y", "echo", 'default_model = "echo-last"\n')
    sources = family_sources(*settings.family_roots)
    assert sources["echo"].root == tmp_path / "y" / "echo" and sources["baseline"].root == settings.families_dir / "baseline"
    shutil.copytree(ROOT / "families" / "baseline", tmp_path / "x" / "baseline", ignore=shutil.ignore_patterns("*.lock", "tests"))
    with pytest.raises(EnvironmentError_, match="'baseline' is in two folders"):
        family_sources(*settings.family_roots)
