# A slim image of the bot: `rural-bot webhook` behind a load balancer, several replicas on one
# PostgreSQL (see docker-compose.yml). Not built in CI: there is no Docker engine there; the tests
# run this file's CMD and HEALTHCHECK commands directly (tests/runtime/test_docker.py).
#
# Every package comes from requirements.lock at the version and with the hashes it lists (pip
# refuses any other file), the build tools for the bot itself included; README's Production
# section says how to refresh the lock. The base image is pinned to an exact Python release and to
# the digest of that image (README: Docker).
FROM python:3.11.17-slim-trixie@sha256:45037981b62b34b44602584fccbc4d884d5f7dc92c7ee86bb38a698a79fe1e51

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LISTEN_HOST=0.0.0.0 LISTEN_PORT=8088
WORKDIR /app
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY catalog ./catalog
COPY locales ./locales
COPY services ./services
COPY store ./store
RUN pip install --no-deps --no-build-isolation . && useradd --create-home --uid 10001 rural \
    && mkdir -p /app/var && chown rural /app/var
USER rural
VOLUME ["/app/var"]
EXPOSE 8088
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["rural-bot", "health"]
STOPSIGNAL SIGTERM
CMD ["rural-bot", "webhook"]
