#!/usr/bin/env bash
# `make run` on a fresh data dir must print the URL and an API key, answer /health and the key,
# and leave no Chromium behind when stopped. PROFILE=dev reuses the test build in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
data=$(mktemp -d)
out=$(mktemp)
export WAYFARER_DATA_DIR="$data" WAYFARER_LISTEN=127.0.0.1:0 WAYFARER_BROWSERS=1
setsid make run PROFILE="${PROFILE:-dev}" >"$out" 2>"$out.err" &
pid=$!
cleanup() { kill -TERM -- -"$pid" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 1 600); do
    grep -q '^API key: wf_' "$out" && break
    kill -0 "$pid" 2>/dev/null || { cat "$out" "$out.err" >&2; echo "make run exited early" >&2; exit 1; }
    sleep 1
done
url=$(sed -n 's/^wayfarer listening on //p' "$out")
key=$(sed -n 's/^API key: //p' "$out")
[ -n "$url" ] && [ -n "$key" ] || { cat "$out" >&2; echo "make run printed no URL/key" >&2; exit 1; }
curl -fsS "$url/health" >/dev/null
curl -fsS -H "Authorization: Bearer $key" "$url/v1/account" | grep -q '"name":"default"'
kill -TERM -- -"$pid"
trap - EXIT
for _ in $(seq 1 30); do
    pgrep -f -- "$data/chromium" >/dev/null || { echo "smoke: make run OK ($url)"; exit 0; }
    sleep 1
done
echo "chromium left behind after make run stopped" >&2
exit 1
