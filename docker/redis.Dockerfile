# Redis from Debian's packages on a given base, for machines that cannot pull the official image
# (docker/smoke.sh builds it on the debootstrap base). With a registry, docker-compose.yml runs the official
# image instead; both take the same command line and keep their data in /data.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

# Unpinned on purpose: the version is whatever the suite's security updates carry.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data \
 && chown redis:redis /data

# The package creates the redis user; its uid is not fixed in advance.
# hadolint ignore=DL3066
USER redis
WORKDIR /data
EXPOSE 6379
CMD ["redis-server", "--dir", "/data", "--protected-mode", "no"]
