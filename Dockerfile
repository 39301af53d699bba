# The image of every service; the build arguments say which one:
#   docker build --build-arg SERVICE=intake --build-arg ENV_PREFIX=INTAKE -t gpu-platform/intake:dev .
# SERVICE is the package (intake, evaluation, allocation, telemetry, billing, dashboard), ENV_PREFIX its settings' prefix: the
# same name in capitals (a Dockerfile cannot change case), checked below. The image runs `python -m <SERVICE> api`
# on 0.0.0.0:8000 unless given another command (worker, migrate, ...), as docker-compose.yml and deploy/k8s do.
#
# It lives at the repository root because its build context is the whole uv workspace (pyproject.toml, uv.lock,
# shared/ and services/), which .dockerignore beside it trims: `docker build .` finds both with no -f.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_PROJECT_ENVIRONMENT=/opt/venv PATH=/opt/venv/bin:$PATH
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY shared ./shared
COPY services ./services
# Declared after the steps every service shares, so that their layers are built once and reused by all five.
ARG SERVICE
ARG ENV_PREFIX
RUN if [ -z "$SERVICE" ] || [ ! -f "services/$SERVICE/pyproject.toml" ]; then \
        echo "build argument SERVICE='$SERVICE' names no service under services/" >&2; exit 1; fi; \
    if [ "$ENV_PREFIX" != "$(printf '%s' "$SERVICE" | tr '[:lower:]' '[:upper:]')" ]; then \
        echo "build argument ENV_PREFIX='$ENV_PREFIX' must be SERVICE in capitals" >&2; exit 1; fi
RUN uv sync --frozen --no-dev --package "$SERVICE"
USER nobody
EXPOSE 8000
ENV SERVICE=${SERVICE} ${ENV_PREFIX}_HTTP__HOST=0.0.0.0 ${ENV_PREFIX}_HTTP__PORT=8000
# A shell only to name the service; exec hands PID 1 to python, so SIGTERM reaches it.
CMD ["sh", "-c", "exec python -m \"$SERVICE\" api"]
