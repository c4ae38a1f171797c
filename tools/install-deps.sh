#!/usr/bin/env bash
# Installs the Debian packages wangge needs to build, test and run.
# Idempotent: installs only what is missing, and runs apt-get update only then.
set -euo pipefail

packages=(
  cmake ninja-build g++ ccache pkg-config clang-format
  libboost-dev libgdal-dev gdal-bin libsqlite3-dev libcpp-httplib-dev
  doctest-dev nlohmann-json3-dev libsodium-dev sqlite3
  libgeos-dev postgresql-15-postgis-3 libpq-dev
  chromium chromium-driver fonts-wqy-microhei
  zlib1g-dev libimage-exiftool-perl
  libxml2-utils curl libxlsxwriter-dev unzip wrk iproute2
  libgoogle-perftools-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js: preinstalled here from nodesource (with npm); Debian's otherwise.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

# Leaflet for the web pages and playwright-core for the browser tests, at the
# exact versions of package-lock.json (run after the Debian packages below).
npm_ci() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  echo "install-deps: npm ci in $root"
  (cd "$root" && npm ci --no-audit --no-fund)
}

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  npm_ci
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
npm_ci
