# The gateway image (build context: the repository root):
#
#   docker build -f images/gateway.Dockerfile -t tollama/gateway .      (or: just image gateway)
#
# Installs images/gateway.lock (hash-checked) and the gateway + kit sources; runs `tollama serve`
# on 0.0.0.0:11435 with its state in /var/lib/tollama (mount the model store volume at
# /var/lib/tollama/models). No torch, no family code: workers run in their own images.
# It runs as the unprivileged user tollama (10001); /var/lib/tollama belongs to that user and to
# group 0 with the same rights, so a gateway run as root with every capability dropped (compose's
# default, for the Docker socket) can write the store through its group without DAC_OVERRIDE.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
COPY images/local/ /tmp/local/
COPY images/gateway.lock /tmp/gateway.lock
RUN set -eu; \
    if [ -f /tmp/local/extra-ca.crt ]; then \
      cat /etc/ssl/certs/ca-certificates.crt /tmp/local/extra-ca.crt > /tmp/ca-bundle.pem; \
      export PIP_CERT=/tmp/ca-bundle.pem; \
    fi; \
    python3 -m venv /opt/tollama; \
    /opt/tollama/bin/python -m pip install --quiet --no-deps --require-hashes -r /tmp/gateway.lock; \
    site=$(/opt/tollama/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'); \
    echo /opt/tollama-src > "$site/tollama-src.pth"; \
    /opt/tollama/bin/python -m pip uninstall --quiet --yes pip; \
    rm -rf /root/.cache
# Sources after the dependency layer, so that a source change rebuilds in seconds.
COPY families/kit/src/tollama_kit/ /opt/tollama-src/tollama_kit/
COPY gateway/src/tollama/ /opt/tollama-src/tollama/
RUN /opt/tollama/bin/python -m compileall -q /opt/tollama-src \
    && /opt/tollama/bin/python -c "import tollama.app, tollama.runtime.docker"

FROM ${BASE_IMAGE}
ARG PROTOCOL_VERSION=1
LABEL tollama.component="gateway" \
      tollama.protocol="${PROTOCOL_VERSION}" \
      org.opencontainers.image.title="tollama gateway"
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/tollama --create-home --shell /usr/sbin/nologin tollama \
    && mkdir -p /var/lib/tollama/models && chown -R tollama:0 /var/lib/tollama && chmod -R g=u /var/lib/tollama
COPY --from=build /opt/tollama /opt/tollama
COPY --from=build /opt/tollama-src /opt/tollama-src
COPY registry.yaml /opt/tollama/share/registry.yaml
# The family manifests ([tool.tollama] + options.json), read as data: checkpoint detection, family options.
COPY families/ /opt/tollama/share/families/
ENV PATH=/opt/tollama/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    TOLLAMA_HOST=0.0.0.0 \
    TOLLAMA_PORT=11435 \
    TOLLAMA_HOME=/var/lib/tollama \
    TOLLAMA_REGISTRY=/opt/tollama/share/registry.yaml \
    TOLLAMA_FAMILIES_DIR=/opt/tollama/share/families
USER 10001:10001
WORKDIR /var/lib/tollama
EXPOSE 11435
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:11435/api/version', timeout=2)"]
CMD ["python", "-m", "tollama", "serve"]
