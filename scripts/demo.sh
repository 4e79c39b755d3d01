#!/usr/bin/env bash
# Set up and run the demo: installs the Debian packages, builds the agent and
# runs scripts/demo.py (a namespace cluster, the agent on every node, a real
# Prometheus and Alertmanager, a route fault injected and repaired).
#
#   scripts/demo.sh [--keep]
#
# Needs root for the network namespaces (it re-runs itself with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then exec sudo "$0" "$@"; fi
./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target ibpath-agent
IBPATH_AGENT="$PWD/build/ibpath-agent" exec /usr/bin/python3 scripts/demo.py "$@"
