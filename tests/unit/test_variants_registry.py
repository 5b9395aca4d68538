"""Variant sets in registry.yaml: strict validation at load, and the generic choice rule."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from tollama.registry import Registry, RegistryEntry, RegistryError, pick_variant
from tollama.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def family(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """granite's own ``variants`` module (pure Python; loaded by path: the gateway never imports it)."""
    path = ROOT / "families" / "granite" / "src" / "tollama_granite" / "variants.py"
    spec = importlib.util.spec_from_file_location("granite_variants_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up while executing
    spec.loader.exec_module(module)
    return module


def test_the_shipped_granite_base_declares_every_granite_entry() -> None:
    reg = Registry.load(Settings().registry_file)
    base = reg.get("granite-ttm-r2")
    assert base is not None
    # every TinyTimeMixer entry (FlowState and PatchTST-FM are granite models from other repos)
    assert sorted(base.variants) == sorted(e.name for e in reg if e.family == "granite" and e.repo == base.repo)
    assert len(base.variants) == 12
    assert [e.name for e in reg.variants(base)] == base.variants
    for entry in reg:
        if entry.name != "granite-ttm-r2":
            assert entry.variants == [], entry.name


def test_the_generic_rule_over_the_registry_equals_the_granite_family_rule(family: ModuleType) -> None:
    reg = Registry.load(Settings().registry_file)
    base = reg.get("granite-ttm-r2")
    assert base is not None
    candidates = reg.variants(base)
    checked = 0
    for context in (1, 100, 511, 512, 513, 1000, 1023, 1024, 1500, 1536, 1537, 5000):
        for horizon in (1, 24, 96, 97, 192, 193, 200, 336, 337, 720, 721):
            ours = pick_variant(candidates, context, horizon)
            theirs = family.pick_variant(context, horizon)
            assert (ours.name if ours else None) == (theirs.name if theirs else None), (context, horizon)
            checked += 1
    assert checked == 132


@pytest.mark.parametrize(
    ("context", "horizon", "expected"),
    [
        (100, 24, "granite-ttm-r2"),            # shorter than every context: the shortest context, shortest horizon
        (600, 200, "granite-ttm-r2-512-336"),   # horizon decides
        (1100, 50, "granite-ttm-r2-1024-96"),   # the longest context the history fills
        (2000, 700, "granite-ttm-r2-1536-720"),
        (2000, 721, None),
    ],
)
def test_pick_variant_examples(context: int, horizon: int, expected: str | None) -> None:
    reg = Registry.load(Settings().registry_file)
    base = reg.get("granite-ttm-r2")
    assert base is not None
    chosen = pick_variant(reg.variants(base), context, horizon)
    assert (chosen.name if chosen else None) == expected


def _entry(name: str, repo: str = "o/r", family: str = "granite", variants: str = "", ctx: int = 512, h: int = 96) -> str:
    text = (f"  {name}:\n    family: {family}\n    description: x\n    license: mit\n    repo: {repo}\n"
            f"    capabilities: {{max_context: {ctx}, max_horizon: {h}}}\n")
    return text + (f"    variants: [{variants}]\n" if variants else "")


@pytest.mark.parametrize(
    ("entries", "needle"),
    [
        ([_entry("a", variants="a, b")], "'b' is not in the registry"),
        ([_entry("a", variants="b"), _entry("b", h=192)], "must list 'a' itself"),
        ([_entry("a", variants="a, b"), _entry("b", family="chronos", h=192)], "same family and repo"),
        ([_entry("a", variants="a, b"), _entry("b", repo="o/other", h=192)], "same family and repo"),
        ([_entry("a", variants="a, b"), _entry("b", variants="b, a", h=192)], "do not nest"),
        ([_entry("a", variants="a, b"), _entry("b", variants="b, c", h=192), _entry("c", h=336)], "do not nest"),
        ([_entry("a", variants="a, b, b"), _entry("b", h=192)], "listed twice"),
        ([_entry("a", variants="a, b"), _entry("b")], "same max_context and max_horizon"),
    ],
    ids=["missing", "not-itself", "other-family", "other-repo", "cycle", "nested", "duplicate", "same-shape"],
)
def test_malformed_variant_sets_are_refused_at_load(tmp_path: Path, entries: list[str], needle: str) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text("version: 1\nmodels:\n" + "".join(entries))
    with pytest.raises(RegistryError, match=needle):
        Registry.load(path)


def test_a_well_formed_variant_set_loads(tmp_path: Path) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text("version: 1\nmodels:\n" + _entry("a", variants="a, b") + _entry("b", h=192) + _entry("c", h=336))
    reg = Registry.load(path)
    a = reg.get("a")
    assert a is not None
    assert [e.name for e in reg.variants(a)] == ["a", "b"]
    assert isinstance(pick_variant(reg.variants(a), 10, 150), RegistryEntry)
