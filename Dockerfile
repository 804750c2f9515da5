# The image behind compose.yaml: the console built by npm ci in a Node stage, Python packages from
# requirements.lock in a virtualenv, run as a non-root user. Not built by this repository's CI
# (no image registry is reachable there); `make up` runs the same topology without containers.

FROM node:20-bookworm-slim AS console
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --no-progress
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim-bookworm AS packages
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
COPY requirements.lock /tmp/requirements.lock
RUN /venv/bin/pip install --no-cache-dir -r /tmp/requirements.lock

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home workflows
COPY --from=packages /venv /venv
WORKDIR /app
COPY . .
COPY --from=console /src/frontend/dist /app/frontend/dist
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    WORKFLOWS_VAR_DIR=/app/var
# Static files (admin, API docs) into var/static, served by WhiteNoise. Production settings
# need their variables to load: placeholders here, a throw-away key made for this one command.
RUN DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    DJANGO_ALLOWED_HOSTS=build.invalid DATABASE_URL=postgres://build.invalid/none \
    REDIS_URL=redis://build.invalid:6379/0 \
    python manage.py collectstatic --noinput -v 0 \
 && chown -R workflows:workflows /app/var
USER workflows
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
