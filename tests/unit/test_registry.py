from pathlib import Path

import pytest
from tollama.registry import Registry, RegistryError
from tollama.settings import Settings


def test_the_shipped_catalogue_loads_with_every_family() -> None:
    reg = Registry.load(Settings().registry_file)
    assert {"chronos", "timesfm", "uni2ts", "granite", "sundial", "toto", "baseline"} <= set(reg.families())
    for name in ["chronos-t5-tiny", "chronos-t5-large", "chronos-bolt-base", "chronos-2", "timesfm-2.5-200m",
                 "moirai-1.1-r-small", "moirai-1.1-r-large", "moirai-2.0-r-small", "granite-ttm-r2",
                 "sundial-base-128m", "toto-open-base-1.0", "naive", "auto-ets"]:
        assert reg.get(name) is not None, name
    moirai = reg.get("moirai-1.1-r-small")
    assert moirai is not None and moirai.license_acceptance and moirai.license == "cc-by-nc-4.0"
    for entry in reg:
        assert entry.builtin or entry.repo, entry.name
        assert entry.capabilities.max_horizon >= 1


def test_granite_variants_are_hub_revisions() -> None:
    reg = Registry.load(Settings().registry_file)
    revisions = {e.revision for e in reg if e.family == "granite"}
    assert "main" in revisions and len(revisions) > 4


@pytest.mark.parametrize(
    ("snippet", "needle"),
    [
        ("family: chronos\n    description: x\n    license: mit\n    capabilities: {max_context: 1, max_horizon: 1}\n    colour: red", "colour"),
        ("family: chronos\n    description: x\n    license: mit\n    repo: a/b\n    capabilities: {max_context: 0, max_horizon: 1}", "max_context"),
        ("family: chronos\n    description: x\n    license: mit\n    capabilities: {max_context: 1, max_horizon: 1}", "no repo"),
    ],
)
def test_malformed_entries_are_refused_at_startup(tmp_path: Path, snippet: str, needle: str) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(f"version: 1\nmodels:\n  bad:\n    {snippet}\n")
    with pytest.raises(RegistryError, match=needle):
        Registry.load(path)
