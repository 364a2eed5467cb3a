#!/usr/bin/env bash
# Installs what wayfarer needs on Debian when it is missing: Chromium, a C compiler (SQLite is
# compiled in). Rust itself must already be installed (rustup).
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || [ -n "${WAYFARER_CHROMIUM:-}" ] || missing+=(chromium)
command -v cc >/dev/null 2>&1 || missing+=(build-essential)
command -v curl >/dev/null 2>&1 || missing+=(curl)

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found; install Rust first (https://rustup.rs), then run this again" >&2
    exit 1
fi

if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "error: need root or sudo to install ${missing[*]}" >&2; exit 1; }
        sudo="sudo"
    fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
