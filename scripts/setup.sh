#!/usr/bin/env bash
# Set up a development environment in .venv: the dynamo package (editable) and its checks.
# Idempotent; safe to run again. Needs python3.11+ on PATH.
# As root (or with --system) it also installs the Debian packages the storage tests need
# (XRootD server and client, gfal2 with its Python bindings, chromium for the page tests, curl
# for the TLS tests),
# skipping apt when all are there.
# Otherwise it prints what is missing and goes on (those tests then fail, or skip for gfal2).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}

system=0
[ "$(id -u)" -eq 0 ] && system=1
for arg in "$@"; do
  [ "$arg" = "--system" ] && system=1
done

debian_packages=(xrootd-server xrootd-server-plugins xrootd-client chromium memcached
  python3-gfal2 gfal2-plugin-file gfal2-plugin-http gfal2-plugin-xrootd curl)
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for package in "${debian_packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$package")
  done
fi
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$system" -eq 1 ]; then
    echo "installing Debian packages: ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "storage tests need Debian packages; as root run:" >&2
    echo "  apt-get install -y --no-install-recommends ${missing[*]}" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'

# Debian's gfal2 bindings cannot be pip-installed: link the module into the venv when present.
if command -v dpkg >/dev/null 2>&1 && dpkg -s python3-gfal2 >/dev/null 2>&1; then
  gfal2_so=$(dpkg -L python3-gfal2 | grep 'gfal2.*\.so$' | head -n 1 || true)
  site_packages=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  if [ -n "$gfal2_so" ]; then
    ln -sf "$gfal2_so" "$site_packages/"
  fi
fi
echo "dynamo installed in .venv: $(.venv/bin/dynamo --version)"
