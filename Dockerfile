# modelport in a container: one replica per container (`modelport serve`, port 8080).
# UNTESTED HERE: the machine this was written on cannot run Docker. The steps are the ones
# `make serve` runs: the pinned, hash-checked dependencies from requirements/serve.txt (in a
# layer of their own, rebuilt only when the lock changes), then this package without them.
#   docker build -t modelport .
#   docker run -p 8080:8080 -e MODELPORT_DATABASE_URL=... -e MODELPORT_SECRET=... modelport

FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/modelport \
 && /opt/modelport/bin/pip install --no-cache-dir --upgrade pip
COPY requirements ./requirements
RUN /opt/modelport/bin/pip install --no-cache-dir --require-hashes -r requirements/serve.txt
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN /opt/modelport/bin/pip install --no-cache-dir --no-deps .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/modelport modelport
COPY --from=build /opt/modelport /opt/modelport
ENV PATH=/opt/modelport/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MODELPORT_HOST=0.0.0.0 \
    MODELPORT_PORT=8080 \
    MODELPORT_DATA_DIR=/var/lib/modelport
USER modelport
WORKDIR /var/lib/modelport
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
CMD ["modelport", "serve"]
