#!/usr/bin/env bash
# Builds a self-contained Colo bundle for offline Linux x64 boxes (no Node.js, no
# internet): the running Node binary, Colo's esbuild output, the production packages
# with Linux x64 binaries only, the optional native addon and a `colo` launcher.
#
#   scripts/bundle.sh [--cuda] [--vulkan] [--llama-source] [--out DIR] [--no-build]
#                     [--keep-stage | --stage-only]
#
#   --cuda          carry node-llama-cpp's prebuilt CUDA 13 backend (@node-llama-cpp/linux-x64-cuda)
#   --vulkan        carry the prebuilt Vulkan backend (@node-llama-cpp/linux-x64-vulkan)
#   --llama-source  carry llama.cpp's source (node-llama-cpp's git bundle, 34 MB) and npm (which
#                   node-llama-cpp's build drives cmake-js with), so that llama.cpp can be
#                   rebuilt on the box for its GPU only: ./nlc source download --gpu cuda
#                   (see bench/README.md)
#   --out DIR       where the archive goes (default: dist/bundle, git-ignored)
#   --no-build      use dist/ as it is instead of running `npm run build`
#   --keep-stage    keep the staging directory next to the archive
#   --stage-only    stage only (no archive): for trying changes to the bundle quickly
#
# Writes colo-<version>-linux-x64[-cuda][-vulkan][-src].tar.xz (xz -T2) with a .sha256 beside
# it, and prints the size of each part. Over 60 MB, it also splits the archive into
# 60 MB parts (some ways onto a colocated box limit one transfer) and prints the join command.
# Check the result with scripts/bundle-check.sh ARCHIVE.
set -euo pipefail

cd "$(dirname "$0")/.."
repo="$(pwd -P)"

cuda=0 vulkan=0 src=0 build=1 keep=0 archive_it=1 out="$repo/dist/bundle"
while [ $# -gt 0 ]; do
  case "$1" in
    --cuda) cuda=1 ;;
    --vulkan) vulkan=1 ;;
    --llama-source) src=1 ;;
    --out) out="${2:?--out needs a directory}"; shift ;;
    --no-build) build=0 ;;
    --keep-stage) keep=1 ;;
    --stage-only) archive_it=0 ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bundle: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
size() { du -sb "$1" | awk '{ printf "%8.1f MB", $1 / 1e6 }'; }
t_all=$(now)

node_bin="$(node -p process.execPath)"
platform="$(node -p 'process.platform + "-" + process.arch')"
[ "$platform" = "linux-x64" ] || { echo "bundle: must run on linux-x64 (this node is $platform)" >&2; exit 1; }
# A distro build of node (Debian's nodejs) links libnode/libuv/openssl... as shared
# libraries, which the box does not have; the nodejs.org build links only libc & co.
if command -v ldd >/dev/null && ldd "$node_bin" | grep -qE 'lib(node|uv|ssl|crypto|icu[a-z]*|z|brotli[a-z]*|cares|nghttp2)\.so'; then
  echo "bundle: $node_bin links shared libraries the box may lack (a distro build?); use a nodejs.org build:" >&2
  ldd "$node_bin" >&2
  exit 1
fi
version="$(node -p 'require("./package.json").version')"
name="colo-$version-linux-x64"
[ $cuda = 1 ] && name="$name-cuda"
[ $vulkan = 1 ] && name="$name-vulkan"
[ $src = 1 ] && name="$name-src"

mkdir -p "$out"
out="$(cd "$out" && pwd -P)"
stage="$out/$name"
archive="$out/$name.tar.xz"
rm -rf "$stage" "$archive" "$archive".part-* "$archive.sha256"

# 1. Build. Packages stay external (scripts/build.mjs); the stage carries them.
if [ $build = 1 ]; then
  t=$(now)
  npm run build --silent
  echo "bundle: build                  $(secs "$t")"
fi
for f in cli engine-worker classifier-worker; do
  [ -f "dist/$f.js" ] || { echo "bundle: dist/$f.js missing; run npm run build" >&2; exit 1; }
done

# 2. Stage: bin/node, app/{dist,native,models}, then the packages.
t=$(now)
mkdir -p "$stage/bin" "$stage/app/dist" "$stage/app/models"
cp -L "$node_bin" "$stage/bin/node"
for f in cli engine-worker classifier-worker; do
  cp "dist/$f.js" "$stage/app/dist/"
  if [ -f "dist/$f.js.map" ]; then cp "dist/$f.js.map" "$stage/app/dist/"; fi
done
cp models/manifest.json "$stage/app/models/manifest.json"
addon=native/build/Release/colo_native.node
if [ -f "$addon" ]; then
  mkdir -p "$stage/app/native/build/Release"
  cp "$addon" "$stage/app/$addon"
  addon_note="carried"
else
  addon_note="not built here; Colo runs without host tuning and says so"
fi

if [ $src = 1 ]; then
  # node-llama-cpp compiles through `npm run cmake-js-llama`, and cmake-js is a node script:
  # the box needs npm and node on PATH for that, and the .bin link npm run puts on PATH.
  npm_dir="$(npm root -g)/npm"
  [ -f "$npm_dir/bin/npm-cli.js" ] || { echo "bundle: npm not found at $npm_dir (needed for --llama-source)" >&2; exit 1; }
  mkdir -p "$stage/lib"
  cp -rL "$npm_dir" "$stage/lib/npm"
  cat > "$stage/bin/npm" <<'NPM'
#!/bin/sh
here=${0%/*}
exec "$here/node" "$here/../lib/npm/bin/npm-cli.js" "$@"
NPM
  chmod 755 "$stage/bin/npm"
fi

prune_flags=()
[ $cuda = 1 ] && prune_flags+=(--cuda)
[ $vulkan = 1 ] && prune_flags+=(--vulkan)
[ $src = 1 ] && prune_flags+=(--llama-source)
"$node_bin" scripts/bundle-prune.mjs --app "$stage/app" "${prune_flags[@]}"
if [ $src = 1 ]; then
  mkdir -p "$stage/app/node_modules/.bin"
  ln -s ../cmake-js/bin/cmake-js "$stage/app/node_modules/.bin/cmake-js"
fi

# The launcher: no Node on PATH needed, and llama.cpp never reaches for the network.
cat > "$stage/colo" <<'LAUNCHER'
#!/bin/sh
# Runs Colo with the Node binary shipped beside it: ./colo serve --port 8080 --model FILE.gguf
# Settings for every run (COLO_*, NODE_LLAMA_CPP_*) can go in colo.env next to this file:
# KEY=value lines, no quotes (systemd's EnvironmentFile format). A variable already set
# in the environment wins over the file.
self=$0
# Follow a symlink (/usr/local/bin/colo -> /opt/colo/colo); builtins only past this point.
if command -v readlink >/dev/null 2>&1; then self=$(readlink -f "$0"); fi
case "$self" in */*) here=${self%/*} ;; *) here=. ;; esac
here=$(cd "$here" && pwd -P)
if [ -f "$here/colo.env" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in ''|'#'*) continue ;; esac
    key=${line%%=*}
    case "$key" in ''|*[!A-Za-z0-9_]*|[0-9]*) echo "colo: colo.env: ignoring line: $line" >&2; continue ;; esac
    eval "[ -n \"\${$key+x}\" ]" || export "$line"
  done < "$here/colo.env"
fi
# node-llama-cpp builds llama.cpp from source (downloading it first) when no prebuilt
# binary fits. Offline, fail at once with a clear error instead.
: "${NODE_LLAMA_CPP_SKIP_DOWNLOAD:=true}"
export NODE_LLAMA_CPP_SKIP_DOWNLOAD
exec "$here/bin/node" "$here/app/dist/cli.js" "$@"
LAUNCHER
# node-llama-cpp's own CLI (source download/build, inspect gpu) with the same Node.
cat > "$stage/nlc" <<'NLC'
#!/bin/sh
# node-llama-cpp's CLI with the bundled Node: ./nlc inspect gpu, ./nlc source build --help
self=$0
# Follow a symlink (/usr/local/bin/colo -> /opt/colo/colo); builtins only past this point.
if command -v readlink >/dev/null 2>&1; then self=$(readlink -f "$0"); fi
case "$self" in */*) here=${self%/*} ;; *) here=. ;; esac
here=$(cd "$here" && pwd -P)
if [ -f "$here/colo.env" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in ''|'#'*) continue ;; esac
    key=${line%%=*}
    case "$key" in ''|*[!A-Za-z0-9_]*|[0-9]*) echo "colo: colo.env: ignoring line: $line" >&2; continue ;; esac
    eval "[ -n \"\${$key+x}\" ]" || export "$line"
  done < "$here/colo.env"
fi
# A source build runs npm and cmake-js (a node script): give it the bundled node and npm.
PATH="$here/bin:$PATH"
export PATH
exec "$here/bin/node" "$here/app/node_modules/node-llama-cpp/dist/cli/cli.js" "$@"
NLC
chmod 755 "$stage/colo" "$stage/nlc" "$stage/bin/node"

commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
cat > "$stage/BUNDLE.txt" <<EOF
colo $version, linux-x64, built $(date -u +%Y-%m-%dT%H:%M:%SZ) from commit $commit (working tree may differ)
node $("$node_bin" -v) (ABI $("$node_bin" -p process.versions.modules)); needs glibc >= 2.34 (llama.cpp prebuilt binaries)
llama.cpp backends: cpu$([ $cuda = 1 ] && echo ', cuda (needs libcudart.so.13, libcublas.so.13: a CUDA 13 toolkit or runtime)')$([ $vulkan = 1 ] && echo ', vulkan (needs libvulkan.so.1)')
llama.cpp source for rebuilding on the box: $([ $src = 1 ] && echo yes || echo no)
host tuning addon: $addon_note
run: ./colo serve --port 8080 --model /path/to/model.gguf     (./colo help)
EOF
echo "bundle: stage                  $(secs "$t")"

echo "bundle: parts of $name/"
echo "  $(size "$stage/bin/node")  bin/node ($("$node_bin" -v))"
echo "  $(size "$stage/app/dist")  app/dist"
[ -d "$stage/app/native" ] && echo "  $(size "$stage/app/native")  app/native (host tuning addon)"
[ -d "$stage/lib/npm" ] && echo "  $(size "$stage/lib/npm")  lib/npm (for rebuilding llama.cpp on the box)"
echo "  $(size "$stage/app/node_modules")  app/node_modules, of which:"
# One du per package: du given overlapping paths counts each file once only.
(cd "$stage/app/node_modules" && for d in [!@]* @*/*; do if [ -d "$d" ]; then du -sb "$d"; fi; done) \
  | sort -rn | awk '$1 > 1e6 { printf "  %8.1f MB      %s\n", $1 / 1e6, $2 }'
echo "               (and $(cd "$stage/app/node_modules" && for d in [!@]* @*/*; do if [ -d "$d" ]; then du -sb "$d"; fi; done | awk '$1 <= 1e6 { n++; b += $1 } END { printf "%d packages under 1 MB, %.1f MB", n, b / 1e6 }'))"
echo "  $(size "$stage")  total, uncompressed"

if [ $archive_it = 0 ]; then
  echo "bundle: staged at $stage (no archive: --stage-only) in $(secs "$t_all")"
  exit 0
fi

# 3. Archive. xz -T2: the build boxes have 2 cores.
t=$(now)
tar -C "$out" --owner=0 --group=0 -cf - "$name" | xz -T2 -6 > "$archive"
(cd "$out" && sha256sum "$name.tar.xz" > "$name.tar.xz.sha256")
echo "bundle: compress               $(secs "$t")"
echo "  $(size "$archive")  $archive"

limit=$((60 * 1024 * 1024))
if [ "$(stat -c %s "$archive")" -gt "$limit" ]; then
  (cd "$out" && split -b 60M -d "$name.tar.xz" "$name.tar.xz.part-")
  echo "bundle: over 60 MB, split into: $(cd "$out" && ls "$name.tar.xz".part-* | tr '\n' ' ')"
  echo "bundle: on the box, join and check with:"
  echo "  cat $name.tar.xz.part-* > $name.tar.xz && sha256sum -c $name.tar.xz.sha256"
fi
[ $keep = 1 ] || rm -rf "$stage"
echo "bundle: done in $(secs "$t_all"). Check it: scripts/bundle-check.sh $archive"
