# tollama — `just` lists the recipes; `./dev <recipe>` bootstraps .venv first.
set shell := ["bash", "-euo", "pipefail", "-c"]
set quiet

export TOLLAMA_HOME := env("TOLLAMA_HOME", justfile_directory() / ".cache/tollama-home")
# every family folder whose manifest names a default model (scripts/families.py reads the manifests)
families := `python scripts/families.py`

[private]
default:
    just --list --unsorted

# start the server on 127.0.0.1:11435 (installs the baseline runtime first)
[group('run')]
serve: (runtime "baseline")
    tollama serve

# build a family's environment from its lock files (process runtime)
[group('setup')]
runtime family:
    tollama runtime install {{family}}

# the interop test tier's environment: the official nixtla client and KServe's types, from their own locks (.cache/interop-venv)
[group('setup')]
interop-env:
    uv venv --quiet --allow-existing --python python3.11 .cache/interop-venv
    uv pip install --quiet --python .cache/interop-venv/bin/python --require-hashes --no-deps -r tests/interop/requirements-nixtla.lock -r tests/interop/requirements-kserve.lock

# build every family's environment, with its test extras
[group('setup')]
runtimes-for-tests:
    for f in {{families}}; do python scripts/family_env.py $f --tests; done

# install and start a Docker engine, the compose plugin and the offline base image (root)
[group('setup')]
docker-engine:
    bash scripts/docker-engine.sh

# build one image: tollama/<family>:<variant> (FAMILY=gateway: tollama/gateway)
[group('setup')]
image family variant="cpu":
    bash scripts/build-image.sh {{family}} {{variant}}

# build the gateway image and every family's image of one variant
[group('setup')]
images variant="cpu":
    bash scripts/build-image.sh gateway
    for f in {{families}}; do bash scripts/build-image.sh $f {{variant}}; done

# the test-only environment with fev and GluonTS, for the metric parity tests (tests/evaluation)
[group('setup')]
fev-env:
    uv venv -q --allow-existing -p 3.11 .cache/fev-env
    uv pip install -q --require-hashes --no-deps -r tests/evaluation/requirements-fev.lock -p .cache/fev-env/bin/python

# everything CI runs: lint, types, each family's own suite, then the gateway suite (last line: pytest's summary)
[group('test')]
test: check runtimes-for-tests interop-env fev-env test-families docker-engine browser
    python -m pytest tests -p no:cacheprovider

# Debian's headless Chromium for the playground's browser test (Playwright drives it; its own download is not used)
[group('setup')]
browser:
    if [ ! -x /usr/bin/chromium ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; fi

# the fast tier: unit tests with fakes, no processes, no Docker
[group('test')]
test-unit:
    python -m pytest tests/unit -q -p no:cacheprovider

# one family's own suite (contract, parity, covariates) inside its environment
[group('test')]
test-family family:
    python scripts/family_env.py {{family}} --tests >/dev/null
    "$TOLLAMA_HOME/runtimes/{{family}}-cpu/bin/python" -m pytest families/{{family}}/tests -q -p no:cacheprovider

# every family's own suite
[group('test')]
test-families:
    python -m pytest families/kit/tests -q -p no:cacheprovider
    for f in {{families}}; do just test-family $f; done

# ruff (lint + format check) and mypy (strict) on our own packages
[group('check')]
check:
    ruff check gateway families/kit tests scripts bench
    mypy

# format the code
[group('check')]
fmt:
    ruff format gateway families tests scripts bench
    ruff check --fix gateway families/kit tests scripts bench

# gateway overhead and throughput vs a direct worker call vs a direct library call
[group('bench')]
bench: (runtime "baseline")
    python bench/overhead.py

# per family, at real size with random weights: through tollama vs a direct worker call vs the library
# (`just bench-families --families chronos --series 64` is the warm 64-series figure)
[group('bench')]
bench-families *args: runtimes-for-tests
    python bench/families.py {{args}}
