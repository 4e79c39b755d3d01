#!/usr/bin/env bash
# Installs everything ibpath needs to build, run and test, from Debian 12 packages only.
# Idempotent: safe to run on every CI run and every fresh machine.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config clang-format
  # the sanitizer build is the fuzzing build: clang with libFuzzer (libclang-rt
  # is only a Recommends of clang)
  clang libclang-rt-14-dev
  # libraries the agent links
  prometheus-cpp-dev libcivetweb-dev
  libnl-3-dev libnl-route-3-dev libnl-idiag-3-dev
  libibumad-dev libspdlog-dev libfmt-dev
  # the data-path probe: libcurl (OpenSSL flavour) and libcrypto for SHA-256
  libcurl4-openssl-dev libssl-dev
  nlohmann-json3-dev libcap-dev
  # --web.config.file: YAML, bcrypt (libxcrypt), and openssl for the TLS test's CA
  libyaml-cpp-dev libcrypt-dev openssl
  # tests
  libgtest-dev libgmock-dev googletest
  # real tools the tests drive: promtool, iproute2 (ip netns), ss, curl
  prometheus iproute2 curl procps python3
  # the probe benchmark's baseline
  iperf3
  # the FUSE probe's lab tests: a FUSE file system standing in for alluxio-fuse
  libfuse3-dev fuse3
  prometheus-alertmanager
  # rule and dashboard checks (test/rules/check_queries.py parses alerts/*.yml)
  python3-yaml
  # packaging checks (test/packaging): cpack's dpkg-shlibdeps, systemd-analyze,
  # the man page check, the maintainer scripts
  dpkg-dev systemd file groff-base man-db shellcheck adduser init-system-helpers
  # the status page test renders / in headless Chromium
  chromium
)

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
