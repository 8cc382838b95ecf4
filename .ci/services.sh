#!/usr/bin/env bash
# Install and start the real services the tests use; idempotent, safe to run again.
#   - dockerd on /var/run/docker.sock
#   - an OCI registry with htpasswd auth on 127.0.0.1:5000 and an anonymous one on 127.0.0.1:5001
# Tests read HYDRO_CI_TEST_REGISTRY*, defaulting to the values below.
set -euo pipefail

STATE=${HYDRO_CI_SERVICES_DIR:-/tmp/hydro-ci-services}
REG_USER=${HYDRO_CI_TEST_REGISTRY_USER:-hydro}
REG_PASSWORD=${HYDRO_CI_TEST_REGISTRY_PASSWORD:-hydro-test-secret-8c1f}
mkdir -p "$STATE"

need=()
for pair in dockerd:docker.io docker-registry:docker-registry skopeo:skopeo umoci:umoci \
            busybox:busybox-static htpasswd:apache2-utils mmdebstrap:mmdebstrap openssl:openssl \
            shellcheck:shellcheck; do
  command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
if ((${#need[@]})); then
  echo "services: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  echo "services: starting dockerd"
  setsid dockerd --host=unix:///var/run/docker.sock >"$STATE/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "services: dockerd did not start"; tail -20 "$STATE/dockerd.log"; exit 1; }
fi

start_registry() {  # name port auth(yes/no)
  local name=$1 port=$2 auth=$3 dir="$STATE/registry-$1"
  if curl -s -o /dev/null "http://127.0.0.1:$port/v2/"; then return; fi
  # A fresh start gets empty storage: test pushes must not pile up across runs.
  rm -rf "$dir/data" && mkdir -p "$dir/data"
  {
    echo "version: 0.1"
    echo "log: {level: warn}"
    echo "storage: {filesystem: {rootdirectory: $dir/data}, delete: {enabled: true}}"
    echo "http: {addr: 127.0.0.1:$port}"
    if [ "$auth" = yes ]; then
      htpasswd -Bbn "$REG_USER" "$REG_PASSWORD" > "$dir/htpasswd"
      echo "auth: {htpasswd: {realm: hydro-ci-test, path: $dir/htpasswd}}"
    fi
  } > "$dir/config.yml"
  echo "services: starting registry $name on 127.0.0.1:$port"
  setsid docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 < /dev/null &
  for _ in $(seq 1 30); do curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && return; sleep 0.5; done
  echo "services: registry $name did not start"; tail -20 "$dir/log"; exit 1
}
start_registry auth 5000 yes
start_registry open 5001 no
echo "services: ready (docker $(docker version --format '{{.Server.Version}}'), registries 127.0.0.1:5000 auth, 127.0.0.1:5001 open)"
