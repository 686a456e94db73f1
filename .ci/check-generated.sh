#!/usr/bin/env bash
# Fails when committed generated code differs from what its generator produces now.
# Run from anywhere; needs git, node (npm ci done) and flatc 2.0.8 (flatbuffers-compiler).
set -euo pipefail

cd "$(dirname "$0")/.."
status=0

# check PATHS...: fails if the working tree differs from the index/HEAD under PATHS,
# including new untracked files a generator produced.
check() {
  local label="$1"
  shift
  if ! git diff --exit-code --stat -- "$@"; then
    echo "check-generated: $label changed on regeneration (see diff above); run the generator and commit" >&2
    status=1
  fi
  local untracked
  untracked="$(git ls-files --others --exclude-standard -- "$@")"
  if [ -n "$untracked" ]; then
    echo "check-generated: $label: untracked generated files:" >&2
    echo "$untracked" >&2
    status=1
  fi
}

# --- FlatBuffers (schemas/colo.fbs) ---
bash scripts/gen-flatbuffers.sh
check "FlatBuffers code" src/protocol/generated native/clients/python/colo

exit "$status"
