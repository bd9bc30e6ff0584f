# syntax=docker/dockerfile:1
# The Roundtable image: one `roundtable` command for every role (serve, worker, migrate, ...).
# compose.yaml runs it as separate services next to PostgreSQL, Valkey and Mailpit.
#
#   docker build -t roundtable .
#   docker run --rm roundtable --help

ARG PYTHON_IMAGE=python:3.11-slim
ARG UV_VERSION=0.13.8

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

# ---- build: resolve nothing, install exactly what uv.lock says -------------------------------
FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app

# Dependencies first, in their own layer: a code change does not reinstall them.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-project

# Then the project itself. It stays an editable install of /app: the app reads its templates,
# static files and migrations next to server/ (REPO_ROOT), which a wheel would not carry.
COPY pyproject.toml uv.lock README.md alembic.ini ./
COPY alembic ./alembic
COPY server ./server
COPY web ./web
COPY static ./static
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev

# ---- runtime: the same Python image, no uv, no build cache, not root --------------------------
FROM ${PYTHON_IMAGE}
# DejaVu gives the PDF minutes a Unicode font (names such as Zoë or Łukasz).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 roundtable \
    && useradd --system --uid 10001 --gid roundtable --home-dir /app --shell /usr/sbin/nologin roundtable \
    && install -d -o roundtable -g roundtable /var/lib/roundtable
COPY --from=build /app /app
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ROUNDTABLE_DATA_DIR=/var/lib/roundtable
WORKDIR /app
USER roundtable
EXPOSE 8000
ENTRYPOINT ["roundtable"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
