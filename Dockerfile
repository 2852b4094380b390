# syntax=docker/dockerfile:1

# Builder: install gongpei and its dependencies into a self-contained virtualenv.
FROM python:3.11-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv "$VIRTUAL_ENV"

WORKDIR /src
# README.md is optional: pyproject names it, but setuptools only warns when it is missing.
COPY pyproject.toml README.md* ./
COPY dispatch ./dispatch
COPY carriers ./carriers
COPY routing ./routing
COPY migrations ./migrations
# A regular (non-editable) install, so the final stage needs nothing from /src.
RUN pip install --no-cache-dir .

# Runtime: the same base image (the venv's interpreter symlinks to /usr/local/bin/python) and no sources.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN groupadd --system --gid 10001 gongpei \
    && useradd --system --no-log-init --uid 10001 --gid gongpei --home-dir /app --shell /usr/sbin/nologin gongpei

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
# ./var holds the embedded SQLite database when GONGPEI_DATABASE_URL is not set.
RUN install --directory --owner=gongpei --group=gongpei /app/var

# Numeric, so Kubernetes runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001

EXPOSE 8000

# slim images have no curl: probe with the standard library (urlopen raises on any non-2xx status).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["gongpei", "serve", "--host", "0.0.0.0", "--port", "8000"]
