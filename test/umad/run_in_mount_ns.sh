#!/bin/sh
# Runs a test binary in a private mount namespace whose /sys/class/infiniband
# and /sys/class/infiniband_mad hold a fixture tree, so the real libibumad
# (which only ever reads /sys/class/infiniband) reads the fixture. The host's
# /sys is untouched; the real /sys/class/net is bound back in.
#
#   run_in_mount_ns.sh FIXTURE_ROOT TEST_BINARY [ARGS...]   fixture's class/infiniband*
#   run_in_mount_ns.sh - TEST_BINARY [ARGS...]              no /sys/class/infiniband at all
#
# Needs root (unshare -m, mount); fails, not skips, without it.
set -eu
if [ "$(id -u)" -ne 0 ]; then
  echo "FAIL: needs root for a private mount namespace (CI runs as root)" >&2
  exit 1
fi
fixture=$1
shift
IBPATH_FIXTURE=$fixture
export IBPATH_FIXTURE
exec unshare -m sh -c '
  set -eu
  fixture=$1
  shift
  mount --make-rprivate /
  keep=$(mktemp -d /tmp/ibpath-umad-net.XXXXXX)
  mount --bind /sys/class/net "$keep"
  mount -t tmpfs none /sys/class
  mkdir /sys/class/net /sys/class/infiniband_mad
  mount --bind "$keep" /sys/class/net
  umount "$keep"
  rmdir "$keep"
  if [ "$fixture" != "-" ]; then
    mkdir /sys/class/infiniband
    cp -r "$fixture/class/infiniband/." /sys/class/infiniband/
    if [ -d "$fixture/class/infiniband_mad" ]; then
      cp -r "$fixture/class/infiniband_mad/." /sys/class/infiniband_mad/
    fi
  fi
  exec "$@"' sh "$fixture" "$@"
