# One image, every entrypoint: `dragonfly proxy`, `dragonfly control-plane`, `dragonfly fake-provider`, `dragonfly migrate`.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DF_HOST=0.0.0.0
WORKDIR /app
COPY pyproject.toml README.md ./
COPY wire wire
COPY proxy proxy
COPY control_plane control_plane
COPY fake_provider fake_provider
COPY dragonfly dragonfly
RUN pip install --no-cache-dir . && useradd --system --uid 10001 dragonfly \
    && mkdir -p /spool && chown dragonfly /spool
# the proxy's usage spool and in-flight journals: mount a volume here so a restarted proxy adopts them
ENV DF_USAGE_SPOOL_DIR=/spool
VOLUME /spool
USER dragonfly
EXPOSE 8080 8081
# Proxy by default; override the command for the others. Workers: DF_PROXY_WORKERS (one per core).
# deploy/ runs it: compose.yaml (one host) and k8s/ (a cluster); README "Production".
CMD ["dragonfly", "proxy"]
