# openxms in a container: docs/deploy.md. Build: docker build -t openxms .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml constraints.txt README.md LICENSE ./
COPY src ./src
RUN pip install -c constraints.txt . \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin openxms \
    && mkdir -p /data && chown openxms /data

USER openxms
VOLUME /data
EXPOSE 8080
# Listening beyond loopback needs OPENXMS_CONTROL_TOKEN (or --insecure-control): without it
# the simulator and the clock would be open to the network, and the server refuses to start.
ENV OPENXMS_HOST=0.0.0.0 OPENXMS_PORT=8080 OPENXMS_DATA_DIR=/data
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=2)"]
CMD ["openxms", "serve"]
