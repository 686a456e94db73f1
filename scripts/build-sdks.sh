#!/usr/bin/env bash
# Builds both execution-engine SDKs and runs their server-less unit checks:
#   C++     native/clients/cpp -> native/build/cpp-client (flatc --cpp at build time), ctest
#   Python  native/clients/python: imports with Debian's python3, unittest
# The conformance suite against a real Colo is test/model/sdk-conformance.test.ts (npm test).
# Needs what scripts/setup-system.sh installs. BUILD_DIR=... overrides the C++ build folder.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-native/build/cpp-client}"
PYTHON="${COLO_TEST_PYTHON:-/usr/bin/python3}"

echo "build-sdks: C++ (cmake, $BUILD_DIR)"
cmake -S native/clients/cpp -B "$BUILD_DIR" >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"
(cd "$BUILD_DIR" && ctest --output-on-failure)

echo "build-sdks: Python ($PYTHON, native/clients/python)"
export PYTHONPATH=native/clients/python PYTHONDONTWRITEBYTECODE=1
"$PYTHON" -c 'import colo_client, websockets, flatbuffers; print("colo_client imports; websockets", websockets.__version__)'
"$PYTHON" -m unittest discover -s native/clients/python/tests -t native/clients/python -v 2>&1
