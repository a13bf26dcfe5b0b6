# A slim image of the bot. Not built in CI (no Docker engine there).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
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
CMD ["rural-bot", "run"]
