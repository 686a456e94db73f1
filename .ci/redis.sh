#!/usr/bin/env bash
# Redis for CI and local runs. Tests start their own private redis-server (see
# test/helpers/redis.ts); this script only makes sure the binary is there, and can
# start/stop a standalone one for manual runs.
#   bash .ci/redis.sh install          # apt-get install redis-server if missing
#   bash .ci/redis.sh start [PORT]     # daemonized, temp dir, no persistence (default 6399)
#   bash .ci/redis.sh stop  [PORT]
set -euo pipefail
cmd="${1:-install}"
port="${2:-6399}"
run_dir="${TMPDIR:-/tmp}/colo-redis-$port"

case "$cmd" in
  install)
    if command -v redis-server >/dev/null 2>&1; then
      echo "redis-server present: $(redis-server --version)"
      exit 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null
    # Debian's package may start a system service; tests never use it.
    redis-server --version
    ;;
  start)
    mkdir -p "$run_dir"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$run_dir" --save '' --appendonly no \
      --daemonize yes --pidfile "$run_dir/redis.pid" --logfile "$run_dir/redis.log"
    for _ in $(seq 1 50); do
      redis-cli -p "$port" ping >/dev/null 2>&1 && { echo "redis on 127.0.0.1:$port"; exit 0; }
      sleep 0.1
    done
    echo "redis-server did not start; log:" >&2; cat "$run_dir/redis.log" >&2; exit 1
    ;;
  stop)
    if [ -f "$run_dir/redis.pid" ]; then
      kill "$(cat "$run_dir/redis.pid")" 2>/dev/null || true
      rm -rf "$run_dir"
    fi
    ;;
  *)
    echo "usage: $0 install|start [PORT]|stop [PORT]" >&2; exit 2 ;;
esac
