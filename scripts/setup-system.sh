#!/usr/bin/env bash
# Installs the Debian packages Colo's tests, code generation and SDKs need, if missing:
#   flatbuffers-compiler  flatc 2.0.8, regenerates src/protocol/generated (CI checks it)
#                         and generates the C++ SDK's wire code at build time
#   libflatbuffers-dev    FlatBuffers C++ headers 2.0.8 (the C++ SDK, native/clients/cpp)
#   cmake, g++            build the C++ SDK
#   redis-server          real Redis for the shared-state tests (each test starts its own)
#   python3-flatbuffers, python3-websockets   the Python SDK (native/clients/python)
#   python3-prometheus-client   the official Prometheus text-format parser (test/helpers/promparse.py)
#   chromium              the dashboard's browser test (puppeteer-core drives /usr/bin/chromium)
# Safe to run repeatedly; does nothing when all are present.
set -euo pipefail
need=()
command -v flatc >/dev/null 2>&1 || need+=(flatbuffers-compiler)
[ -f /usr/include/flatbuffers/flatbuffers.h ] || need+=(libflatbuffers-dev)
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
/usr/bin/python3 -c 'import flatbuffers' >/dev/null 2>&1 || need+=(python3-flatbuffers)
/usr/bin/python3 -c 'import websockets' >/dev/null 2>&1 || need+=(python3-websockets)
/usr/bin/python3 -c 'import prometheus_client' >/dev/null 2>&1 || need+=(python3-prometheus-client)
[ -x /usr/bin/chromium ] || need+=(chromium)
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
