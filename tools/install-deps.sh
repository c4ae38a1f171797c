#!/usr/bin/env bash
# Installs the Debian packages wangge needs to build, test and run.
# Idempotent: installs only what is missing, and runs apt-get update only then.
set -euo pipefail

packages=(
  cmake ninja-build g++ ccache pkg-config clang-format
  libboost-dev libgdal-dev gdal-bin libsqlite3-dev libcpp-httplib-dev
  doctest-dev nlohmann-json3-dev libsodium-dev sqlite3
  libgeos-dev postgresql-15-postgis-3 libpq-dev
  zlib1g-dev libimage-exiftool-perl
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
