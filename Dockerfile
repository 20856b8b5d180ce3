# syntax=docker/dockerfile:1
# todohub: one hub process per container. docker-compose.yml runs two of them
# behind nginx, on PostgreSQL and Redis; alone it runs on SQLite in /data:
#   docker build -t todohub . && docker run -p 8000:8000 -v todohub-data:/data todohub

# --- build: install the package and its dependencies into a virtualenv ------
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# The whole context minus .dockerignore: pyproject.toml, README.md, hub/,
# storage/, auth/ (migrations included) and static/.
COPY . .
RUN pip install --no-cache-dir .

# --- runtime: the virtualenv, the browser client, a non-root user ----------
FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TODOHUB_HOST=0.0.0.0 \
    TODOHUB_PORT=8000 \
    TODOHUB_DATA_DIR=/data \
    TODOHUB_STATIC_DIR=/app/static

RUN groupadd --system --gid 10001 todohub \
 && useradd --system --uid 10001 --gid todohub --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin todohub \
 && mkdir -p /app /data \
 && chown todohub:todohub /data

WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY static/ /app/static/

USER todohub:todohub
EXPOSE 8000

# Liveness: /livez answers while the process serves (after its start-up), so a
# Redis or database outage does not mark every hub dead while it still serves its
# sockets; /readyz (database and broker) is for a load balancer's readiness check.
# No curl in the slim image: ask with the standard library; an error status
# raises HTTPError, so the check exits non-zero.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as u; r = u.urlopen('http://127.0.0.1:%s/livez' % os.environ.get('TODOHUB_PORT', '8000'), timeout=4); sys.exit(0 if r.status == 200 else 1)"]

# Exec form: the hub is PID 1 and gets SIGTERM itself (graceful shutdown
# closes sockets with 1012 so clients reconnect to the other hub).
CMD ["todohub", "serve", "--host", "0.0.0.0"]
