"""``tollama show MODEL``: what the model is, in Ollama's sections (Model, Capabilities, Parameters, License).

Reads ``/api/show``: a created model names its base and parent, its own parameters (over the
base's defaults) and the capabilities it inherits from the base's catalogue entry.
"""

from __future__ import annotations

from typing import Any

_FLAGS = ("multivariate", "past_covariates", "future_covariates", "static_covariates", "categorical_covariates", "missing_values", "sampling")


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list):
        return ", ".join(_value(x) for x in v)
    return str(v)


def _section(title: str, rows: list[tuple[str, str]]) -> list[str]:
    width = max((len(k) for k, _ in rows), default=0) + 4
    return [f"  {title}", *(f"    {k:<{width}}{v}" for k, v in rows), ""]


def show_text(data: dict[str, Any]) -> str:
    info = data["model_info"]
    cap = {k.removeprefix("tollama.capabilities."): v for k, v in info.items() if k.startswith("tollama.capabilities.")}
    base, parent = info.get("tollama.base", ""), info.get("tollama.parent")
    model = [("base", base + (f" (created from {parent})" if parent else ""))]
    model.append(("family", info["tollama.family"]))
    model.append(("parameters", data["details"]["parameter_size"] or "-"))
    members = info.get("tollama.ensemble.members")
    if members:
        model.append(("members", ", ".join(members)))
        model.append(("combine", f"{info['tollama.ensemble.combine']} of each quantile level"))
        model.append(("weights", "none of its own: its members'"))
    elif info.get("tollama.repo"):
        model.append(("weights", f"{info['tollama.repo']}@{info['tollama.revision']}"))
    else:
        model.append(("weights", "none: built in, nothing to pull"))
    model.append(("digest", info["tollama.digest"]))
    if info.get("tollama.variants"):
        model.append(("variants", ", ".join(info["tollama.variants"])))

    native = cap.get("quantiles") or []
    levels = "any level, from samples" if cap.get("sampling") else "any level"
    if native:
        levels = f"native grid {_value(native)}"
    caps = [("context", f"{cap.get('min_context', 1)} to {cap['max_context']} points"), ("max horizon", str(cap["max_horizon"])),
            ("quantiles", levels), *((name.replace("_", " "), _value(cap[name])) for name in _FLAGS if name in cap)]

    own = info.get("tollama.parameters") or {}
    defaults = info.get("tollama.defaults") or {}
    params = [(k, _value(v) + ("" if k in own else f"   (default of {base})")) for k, v in sorted(defaults.items()) if k != "members"]
    params.append(("quantile levels answered", _value(info.get("tollama.quantiles", []))))

    lines = [*_section("Model", model), *_section("Capabilities", [("answers", ", ".join(data["capabilities"])), *caps])]
    lines += _section("Parameters", params)
    lines += _section("License", [("", data["license"])])
    return "\n".join(lines)
