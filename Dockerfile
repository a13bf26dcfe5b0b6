# A slim image of the bot: `rural-bot webhook` behind a load balancer, several replicas on one
# PostgreSQL (see docker-compose.yml). Not built in CI: there is no Docker engine there; the tests
# run this file's CMD and HEALTHCHECK commands directly (tests/test_docker.py).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    LISTEN_HOST=0.0.0.0 LISTEN_PORT=8088
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY catalog ./catalog
COPY locales ./locales
COPY services ./services
COPY store ./store
RUN pip install . && useradd --create-home --uid 10001 rural && mkdir -p /app/var && chown rural /app/var
USER rural
VOLUME ["/app/var"]
EXPOSE 8088
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["rural-bot", "health"]
STOPSIGNAL SIGTERM
CMD ["rural-bot", "webhook"]
