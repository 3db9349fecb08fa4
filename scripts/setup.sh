#!/usr/bin/env bash
# Idempotent machine + project setup for esm-kn on Debian 12 (bookworm), run as root.
# Installs: Mesa's software Vulkan driver (lavapipe) from bookworm-backports, Debian's chromium
# (browser tests and benchmarks, driven by playwright-core) and the npm dependencies.
# Why backports: bookworm's own Mesa 22.3 lacks features Dawn requires, so the adapter comes back null.
set -euo pipefail
cd "$(dirname "$0")/.."

have_lavapipe() {
  ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 && ldconfig -p | grep -q libvulkan.so.1
}

if ! have_lavapipe; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: the software Vulkan driver is missing and installing it needs root (run: sudo bash scripts/setup.sh)" >&2
    exit 1
  fi
  echo "setup: installing mesa-vulkan-drivers from bookworm-backports" >&2
  if [ ! -f /etc/apt/sources.list.d/backports.sources ]; then
    cat > /etc/apt/sources.list.d/backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers >/dev/null
fi

# Debian's chromium (with SwiftShader's software WebGPU) for the browser tests and `npm run bench -- browser`.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: /usr/bin/chromium is missing and installing it needs root (run: sudo bash scripts/setup.sh)" >&2
    exit 1
  fi
  echo "setup: installing chromium" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

# npm dependencies: install only when package-lock or package.json is newer than node_modules.
if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ] || { [ -f package-lock.json ] && [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  echo "setup: npm install" >&2
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
fi
