#!/usr/bin/env bash
# Checks an offline bundle the way an operator would use it, on a box with no Node.js:
#
#   scripts/bundle-check.sh ARCHIVE.tar.xz [--model FILE.gguf]
#   scripts/bundle-check.sh --dir STAGE_DIR [--model FILE.gguf]   (an unpacked bundle, e.g. from
#                                                   bundle.sh --stage-only; step 1 is skipped)
#
# 1. checks the archive against its .sha256 (when beside it) and extracts it into a
#    fresh temporary directory (no node_modules above it to fall back on);
# 2. runs `BUNDLE/colo serve --port 0 --model FILE` from a separate state directory under `env -i` with a PATH holding every
#    tool of /usr/bin and /bin except node/npm/npx, a fresh HOME, and, where `unshare -n`
#    works (root), in a network namespace with loopback only: nothing can be downloaded;
# 3. waits for "colo listening", then checks /healthz, /v1/models, a /v1/completions
#    answer and a streamed one, that the process is the bundled bin/node, that native
#    uWS was loaded (no JS fallback) and that llama.cpp was not built or downloaded;
# 4. stops it with SIGTERM and checks exit code 0 and the latency summary in the log.
#
# Model: --model, else $COLO_TEST_MODEL, else ../shared/models/stories260K.gguf.
# Exit 0 when every check passed; the server log is printed on failure.
set -euo pipefail

if [ "${1:-}" = "__serve" ]; then
  # Inner phase (maybe inside `unshare -n`): $2 bundle dir, $3 model, $4 PATH without node, $5 work dir.
  bundle="$2" model="$3" nopath="$4" work="$5"
  if [ "${BUNDLE_CHECK_NETNS:-0}" = 1 ]; then ip link set lo up; fi
  log="$work/colo.log"
  fail() {
    echo "bundle-check: FAIL: $*" >&2
    echo "---- server log ----" >&2
    cat "$log" >&2 || true
    [ -n "${pid:-}" ] && kill -KILL "$pid" 2>/dev/null || true
    exit 1
  }
  now() { date +%s%N; }
  ms() { echo $(( ($(now) - $1) / 1000000 )); }
  jsget() { "$bundle/bin/node" -e "const v = JSON.parse(require('fs').readFileSync(0, 'utf8')); const r = ($1); process.stdout.write(String(r));"; }

  # Like a service: started by absolute path from its own state directory (data/audit lands there).
  mkdir -p "$work/state"
  cd "$work/state"
  t0=$(now)
  env -i PATH="$nopath" HOME="$work/home" "$bundle/colo" serve --host 127.0.0.1 --port 0 --model "$model" >"$log" 2>&1 &
  pid=$!
  port=""
  for _ in $(seq 1 600); do
    if grep -q '"msg":"colo listening"' "$log" 2>/dev/null; then
      port=$(grep '"msg":"colo listening"' "$log" | head -1 | sed -n 's/.*"port":\([0-9]*\).*/\1/p')
      break
    fi
    kill -0 "$pid" 2>/dev/null || fail "colo exited before listening"
    sleep 0.2
  done
  [ -n "$port" ] || fail "no \"colo listening\" within 120 s"
  echo "bundle-check: listening on port $port, $(ms "$t0") ms after start"

  exe=$(readlink "/proc/$pid/exe" || true)
  [ "$exe" = "$bundle/bin/node" ] || fail "the server process runs $exe, not the bundled $bundle/bin/node"
  echo "bundle-check: ok: the server process is the bundled bin/node"

  base="http://127.0.0.1:$port"
  health=$(curl -sS -o /dev/null -w '%{http_code}' "$base/healthz") || fail "GET /healthz failed"
  [ "$health" = 200 ] || fail "GET /healthz gave $health"
  echo "bundle-check: ok: GET /healthz 200"

  name=$(basename "$model" .gguf)
  models=$(curl -sS "$base/v1/models") || fail "GET /v1/models failed"
  ids=$(echo "$models" | jsget 'v.data.map((m) => m.id).join(",")') || fail "GET /v1/models: not the expected JSON: $models"
  case ",$ids," in *",$name,"*) ;; *) fail "GET /v1/models lists [$ids], not $name" ;; esac
  echo "bundle-check: ok: GET /v1/models lists $name"

  body="{\"model\":\"$name\",\"prompt\":\"Once upon a time\",\"max_tokens\":16,\"temperature\":0}"
  answer=$(curl -sS -H 'content-type: application/json' -d "$body" "$base/v1/completions") || fail "POST /v1/completions failed"
  text=$(echo "$answer" | jsget 'v.choices[0].text') || fail "POST /v1/completions: not a completion: $answer"
  tokens=$(echo "$answer" | jsget 'v.usage.completion_tokens') || fail "POST /v1/completions: no usage: $answer"
  [ -n "$text" ] && [ "$tokens" -gt 0 ] || fail "POST /v1/completions: empty completion: $answer"
  echo "bundle-check: ok: POST /v1/completions: $tokens tokens: $(echo "$text" | tr '\n' ' ' | cut -c1-60)"

  sbody="{\"model\":\"$name\",\"prompt\":\"The little dog\",\"max_tokens\":8,\"temperature\":0,\"stream\":true}"
  stream=$(curl -sS -N -H 'content-type: application/json' -d "$sbody" "$base/v1/completions") || fail "streamed completion failed"
  chunks=$(echo "$stream" | grep -c '^data: {' || true)
  echo "$stream" | grep -q '^data: \[DONE\]' || fail "streamed completion did not end with data: [DONE]: $stream"
  [ "$chunks" -gt 0 ] || fail "streamed completion carried no chunks: $stream"
  echo "bundle-check: ok: streamed /v1/completions: $chunks chunks, then [DONE]"

  kill -TERM "$pid"
  rc=0
  wait "$pid" || rc=$?
  pid=""
  [ "$rc" = 0 ] || fail "exit code $rc after SIGTERM"
  grep -q 'latency summary' "$log" || fail "no latency summary logged on SIGTERM"
  echo "bundle-check: ok: SIGTERM -> exit 0; $(grep -o 'latency summary: [^"]*' "$log" | head -1)"

  if grep -q 'Falling back to a NodeJS implementation' "$log"; then fail "uWebSockets.js fell back to its JS implementation"; fi
  if grep -qiE 'building from source|failed to build llama|NoBinaryFoundError|downloading' "$log"; then fail "node-llama-cpp tried to build or download"; fi
  echo "bundle-check: ok: native uWS loaded; llama.cpp used the prebuilt binaries"
  exit 0
fi

archive="" dir="" model="${COLO_TEST_MODEL:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="${2:?--model needs a file}"; shift ;;
    --dir) dir="${2:?--dir needs a directory}"; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bundle-check: unknown flag $1" >&2; exit 2 ;;
    *) archive="$1" ;;
  esac
  shift
done
usage="usage: scripts/bundle-check.sh ARCHIVE.tar.xz | --dir STAGE_DIR [--model FILE.gguf]"
if [ -n "$dir" ]; then
  [ -x "$dir/colo" ] || { echo "bundle-check: $dir has no colo launcher" >&2; exit 2; }
else
  [ -n "$archive" ] && [ -f "$archive" ] || { echo "$usage" >&2; exit 2; }
  archive="$(cd "$(dirname "$archive")" && pwd -P)/$(basename "$archive")"
fi
repo="$(cd "$(dirname "$0")/.." && pwd -P)"
[ -n "$model" ] || model="$repo/../shared/models/stories260K.gguf"
[ -f "$model" ] || { echo "bundle-check: model $model not found (--model FILE or COLO_TEST_MODEL)" >&2; exit 2; }
model="$(cd "$(dirname "$model")" && pwd -P)/$(basename "$model")"

t_all=$(date +%s%N)
work="$(mktemp -d /tmp/colo-bundle-check.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/home" "$work/box" "$work/path"

if [ -n "$dir" ]; then
  bundle="$(cd "$dir" && pwd -P)"
  echo "bundle-check: checking the unpacked bundle $bundle"
else
  if [ -f "$archive.sha256" ]; then
    (cd "$(dirname "$archive")" && sha256sum -c --quiet "$(basename "$archive").sha256") || { echo "bundle-check: FAIL: sha256 mismatch" >&2; exit 1; }
    echo "bundle-check: ok: sha256 matches"
  fi
  t=$(date +%s%N)
  tar -xJf "$archive" -C "$work/box"
  bundle="$(echo "$work"/box/*/)"
  bundle="${bundle%/}"
  [ -x "$bundle/colo" ] || { echo "bundle-check: FAIL: no executable colo launcher in the archive" >&2; exit 1; }
  echo "bundle-check: extracted in $(( ($(date +%s%N) - t) / 1000000 )) ms: $(du -sh "$bundle" | cut -f1)"
fi

# A PATH like the box's: the usual tools, but no Node.js anywhere on it.
for d in /usr/local/bin /usr/bin /bin /usr/sbin /sbin; do
  [ -d "$d" ] || continue
  for f in "$d"/*; do
    b=${f##*/} # no fork per file: /usr/bin holds thousands
    case "$b" in node|nodejs|npm|npx|corepack|yarn|pnpm) continue ;; esac
    [ -e "$work/path/$b" ] || ln -s "$f" "$work/path/$b"
  done
done
if env -i PATH="$work/path" sh -c 'command -v node' >/dev/null 2>&1; then
  echo "bundle-check: FAIL: could not hide node from PATH" >&2
  exit 1
fi
echo "bundle-check: ok: no node on the server's PATH"

if unshare -n true 2>/dev/null && command -v ip >/dev/null; then
  echo "bundle-check: running in a network namespace with loopback only (no network at all)"
  BUNDLE_CHECK_NETNS=1 unshare -n bash "$0" __serve "$bundle" "$model" "$work/path" "$work"
else
  echo "bundle-check: note: unshare -n unavailable (needs root); running with the host's network"
  bash "$0" __serve "$bundle" "$model" "$work/path" "$work"
fi
echo "bundle-check: PASS in $(( ($(date +%s%N) - t_all) / 1000000 )) ms"
