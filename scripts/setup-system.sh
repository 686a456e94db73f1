#!/usr/bin/env bash
# Installs the Debian packages Colo's tests and code generation need, if missing:
#   flatbuffers-compiler  flatc 2.0.8, regenerates src/protocol/generated (CI checks it)
#   redis-server          real Redis for the shared-state tests (each test starts its own)
#   python3-flatbuffers, python3-websockets   the independent Python client (test/clients/python)
# Safe to run repeatedly; does nothing when all are present.
set -euo pipefail
need=()
command -v flatc >/dev/null 2>&1 || need+=(flatbuffers-compiler)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
/usr/bin/python3 -c 'import flatbuffers' >/dev/null 2>&1 || need+=(python3-flatbuffers)
/usr/bin/python3 -c 'import websockets' >/dev/null 2>&1 || need+=(python3-websockets)
if [ ${#need[@]} -eq 0 ]; then
  echo "setup-system: all system packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "setup-system: installing ${need[*]}"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
