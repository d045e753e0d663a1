# The image a Docker work pool runs champion-challenger's flows in: the package and
# its dependencies installed, nothing else. Built and pushed by the build and push
# steps of prefect.docker.yaml (`prefect deploy --prefect-file prefect.docker.yaml --all`).
FROM python:3.11-slim

WORKDIR /opt/champion-challenger
COPY pyproject.toml README.md ./
COPY flows ./flows
COPY ccpolicy ./ccpolicy
COPY deployments ./deployments
RUN pip install --no-cache-dir ".[blocks]"

# The data and the registry: mount a volume here, or point CC_HOME elsewhere
# (the embedded backend); the Snowflake backend needs no home but its credentials.
ENV CC_HOME=/var/lib/champion-challenger \
    PREFECT_LOGGING_EXTRA_LOGGERS=flows,ccpolicy \
    PYTHONUNBUFFERED=1
