# One family worker image per family and variant (build context: the repository root):
#
#   docker build -f images/worker.Dockerfile --build-arg FAMILY=chronos --build-arg VARIANT=cpu \
#       -t tollama/chronos:cpu .              (or: just image chronos [cpu|cuda])
#
# Build args: BASE_IMAGE (any Debian-like image whose python3 is the family's Python, 3.11 unless its
# pyproject's [tool.tollama] python says otherwise, with venv; default python:3.11-slim;
# scripts/build-image.sh picks python:<py>-slim per family; `just docker-engine` makes the offline
# tollama-base:bookworm for 3.11), FAMILY, VARIANT (cpu | cuda),
# TORCH_INDEX_URL (CPU variant: an extra index holding the CPU torch build), PROTOCOL_VERSION
# (label only; the build script passes tollama_kit.protocol.PROTOCOL_VERSION). Optional files in
# images/local/: wheels/ (a wheel folder, e.g. the CPU torch wheel, for offline builds) and
# extra-ca.crt (a CA to trust while downloading, for hosts behind a TLS-inspecting proxy).
# GPUs are not part of the image: the CUDA variant only carries torch's CUDA wheels; the gateway
# exposes GPUs at run time (TOLLAMA_GPUS, NVIDIA container toolkit).
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ARG FAMILY
ARG VARIANT=cpu
ARG TORCH_INDEX_URL=
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
ENV FAMILY=${FAMILY} VARIANT=${VARIANT} TORCH_INDEX_URL=${TORCH_INDEX_URL}
COPY images/local/ /tmp/local/
COPY images/install-worker.sh /tmp/install-worker.sh
# Dependencies first (one cached layer per lock), then the sources (cheap to rebuild).
COPY families/${FAMILY}/pyproject.toml families/${FAMILY}/requirements-${VARIANT}.lock /src/family/
RUN sh /tmp/install-worker.sh deps
COPY families/kit/src/ /src/kit/src/
COPY families/${FAMILY}/src/ /src/family/src/
RUN sh /tmp/install-worker.sh sources

FROM ${BASE_IMAGE}
ARG FAMILY
ARG VARIANT=cpu
ARG PROTOCOL_VERSION=1
LABEL tollama.family="${FAMILY}" \
      tollama.variant="${VARIANT}" \
      tollama.protocol="${PROTOCOL_VERSION}" \
      org.opencontainers.image.title="tollama ${FAMILY} worker (${VARIANT})"
RUN useradd --system --uid 10001 --user-group --home-dir /home/tollama --create-home --shell /usr/sbin/nologin tollama
COPY --from=build /opt/tollama /opt/tollama
COPY --from=build /opt/tollama-src /opt/tollama-src
ENV PATH=/opt/tollama/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_DATASETS_OFFLINE=1 \
    TOLLAMA_FAMILY=${FAMILY}
USER 10001:10001
WORKDIR /home/tollama
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/v1/health', timeout=2)"]
CMD ["sh", "-c", "exec python -m tollama_kit --family \"$TOLLAMA_FAMILY\" --port 8000 --host 0.0.0.0"]
