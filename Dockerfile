# syntax=docker/dockerfile:1
#
# pgrelay image: docker build -t pgrelay .
#
# Configuration comes from PGRELAY_* environment variables (PGRELAY_ + key upper-cased, . and -
# as _), secrets from PGRELAY_<KEY>_FILE pointing at a mounted file (e.g. /run/secrets/...), or
# from a properties file mounted over /etc/pgrelay/pgrelay.properties (shipped empty). Give
# `docker stop` more time than shutdown.timeout (default 30s): `docker stop -t 45`, or
# `stop_grace_period: 45s` in compose; Docker's own default of 10s would SIGKILL a relay in the
# middle of an orderly stop (harmless for the data, which resumes from the checkpoint, but noisy).

# --- build ---------------------------------------------------------------------------------
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml ./
COPY src/main ./src/main
# The Maven repository is a cache mount: rebuilds do not download the dependencies again.
RUN --mount=type=cache,target=/root/.m2 mvn -q -B package -DskipTests

# --- runtime -------------------------------------------------------------------------------
FROM eclipse-temurin:17-jre

LABEL org.opencontainers.image.title="pgrelay" \
      org.opencontainers.image.description="Relays PostgreSQL logical replication and serves its own replication slots"

# The HEALTHCHECK's client is curl, which eclipse-temurin's Ubuntu images install (see their
# Dockerfile: "curl required for historical reasons"); installed here only if a base image ever
# drops it.
# hadolint ignore=DL3008
RUN if ! command -v curl >/dev/null 2>&1; then \
        apt-get update \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl \
        && rm -rf /var/lib/apt/lists/*; \
    fi

# A dedicated user with a fixed uid (10001: above any distribution's range, so a volume's owner
# means the same on every host); the data directory is its own, mode 0700.
RUN groupadd --system --gid 10001 pgrelay \
    && useradd --system --uid 10001 --gid pgrelay --home-dir /var/lib/pgrelay --no-create-home \
       --shell /usr/sbin/nologin pgrelay \
    && install -d -o pgrelay -g pgrelay -m 0700 /var/lib/pgrelay \
    && install -d -m 0755 /etc/pgrelay /opt/pgrelay /usr/share/doc/pgrelay \
    && printf '%s\n' \
       '# pgrelay in a container is configured by PGRELAY_* environment variables (every key;' \
       '# PGRELAY_<KEY>_FILE for secrets). Mount a properties file over this one to use a file;' \
       '# the variables still override it. Commented example: /usr/share/doc/pgrelay/.' \
       > /etc/pgrelay/pgrelay.properties

COPY --from=build /src/target/pgrelay.jar /opt/pgrelay/pgrelay.jar
COPY conf/pgrelay.properties /usr/share/doc/pgrelay/pgrelay.properties.example

# data.dir: the changelog and feed slots; keep it on a volume, it must survive the container.
ENV PGRELAY_DATA_DIR=/var/lib/pgrelay
# /metrics, /health and /ready (the HEALTHCHECK below follows this variable's port).
ENV PGRELAY_HTTP_LISTEN=0.0.0.0:9187
VOLUME ["/var/lib/pgrelay"]
WORKDIR /var/lib/pgrelay

# 6001: the feed, by convention (off until PGRELAY_FEED_LISTEN is set, e.g. 0.0.0.0:6001, with
# PGRELAY_FEED_USER and a password). 9187: the HTTP endpoint.
EXPOSE 6001 9187

USER 10001:10001

# /health: 200 while the relay is alive and not failed. An empty PGRELAY_HTTP_LISTEN turns the
# endpoint off and this check with it (the container then reports unhealthy).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:${PGRELAY_HTTP_LISTEN##*:}/health" || exit 1

# Exec form: java is PID 1 and receives SIGTERM itself: it finishes the transaction in flight
# and exits 0. JVM flags: JAVA_TOOL_OPTIONS (e.g. -Xmx512m); the heap otherwise follows the
# container's memory limit (MaxRAMPercentage). TieredStopAtLevel=1: the quick JIT only, which
# catches up faster after a start (README "Benchmark", and the systemd unit's comment).
STOPSIGNAL SIGTERM
ENTRYPOINT ["java", "-XX:+ExitOnOutOfMemoryError", "-XX:TieredStopAtLevel=1", "-XX:MaxRAMPercentage=75", "-jar", "/opt/pgrelay/pgrelay.jar"]
CMD ["run", "-c", "/etc/pgrelay/pgrelay.properties"]
