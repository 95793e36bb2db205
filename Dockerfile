# modelport in a container: one replica per container (`modelport serve`, port 8080).
# UNTESTED HERE: the machine this was written on cannot run Docker. The steps are the ones
# `make` runs (pip install of this package), and the same settings as docs/deploy.md.
#   docker build -t modelport .
#   docker run -p 8080:8080 -e MODELPORT_DATABASE_URL=... -e MODELPORT_SECRET=... modelport

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv /opt/modelport \
 && /opt/modelport/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/modelport/bin/pip install --no-cache-dir .

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
