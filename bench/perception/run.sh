#!/usr/bin/env bash
# Perception benchmark (a): tokens per observation on the 39 corpus pages,
# wayfarer vs Playwright MCP vs browser-use, side by side in one run.
#
# Needs: a release (or debug, WAYFARER_BIN=...) build of wayfarer, node+npm,
# python3. Installs @playwright/mcp + js-tiktoken (npm) and browser-use (PyPI,
# in a venv) under $BENCH_ENV on first use. Only 127.0.0.1 is contacted.
#
# usage: bench/perception/run.sh [page ...]      (default: every corpus page)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
corpus="${CORPUS:-$root/../shared/corpus/pages}"
env_dir="${BENCH_ENV:-$root/target/bench-perception}"
out="${OUT:-$env_dir/out}"
bin="${WAYFARER_BIN:-$root/target/release/wayfarer}"
viewport="${VIEWPORT:-1024x600}"
export WAYFARER_CHROMIUM="${WAYFARER_CHROMIUM:-/usr/bin/chromium}"

mkdir -p "$env_dir" "$out"
if [ ! -d "$env_dir/node_modules/@playwright/mcp" ] || [ ! -d "$env_dir/node_modules/js-tiktoken" ]; then
  cp "$here/package.json" "$env_dir/package.json"
  (cd "$env_dir" && npm install --no-audit --no-fund >/dev/null)
fi
if [ ! -x "$env_dir/venv/bin/python" ]; then
  python3 -m venv "$env_dir/venv"
  "$env_dir/venv/bin/pip" install --quiet browser-use
fi
for f in playwright_mcp.mjs compare.mjs browser_use_state.py; do cp "$here/$f" "$env_dir/$f"; done

if [ "$#" -gt 0 ]; then pages=("$@"); else
  mapfile -t pages < <(cd "$corpus" && ls -d */ | tr -d / | sort)
fi

# Static server for the corpus, on loopback only.
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$corpus" >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 50); do curl -fs "$base/" >/dev/null 2>&1 && break; sleep 0.1; done

mkdir -p "$out/wayfarer"
for page in "${pages[@]}"; do
  WAYFARER_LOG=warn "$bin" perceive --json --viewport "$viewport" "$base/$page/index.html" >"$out/wayfarer/$page.json"
  echo "wayfarer $page" >&2
done
# Run from the bench env: Playwright MCP writes a .playwright-mcp/ dir in its cwd.
(cd "$env_dir" && node "$env_dir/playwright_mcp.mjs" "$base" "$out/playwright" "$viewport" "${pages[@]}")
"$env_dir/venv/bin/python" "$env_dir/browser_use_state.py" "$base" "$out/browser_use" "$viewport" "${pages[@]}"
node "$env_dir/compare.mjs" "$out" "${pages[@]}"
