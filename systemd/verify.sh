#!/bin/sh
# Checks the systemd units with systemd's own tools:
#   systemd-analyze verify                      pgrelay.service, pgrelay@.service and an instance
#                                               of the template (pgrelay@demo.service, %i resolved)
#   systemd-analyze security --offline=yes      each unit's exposure score, at most 2.0 (of 10)
#
# Usage: systemd/verify.sh [DIR]      DIR holds the two unit files (default: this script's folder)
# Exit: 0 all good, 1 a problem (printed), 77 systemd-analyze is not installed (apt-get install
# systemd provides it; no running systemd is needed: both commands read the files offline).
#
# `verify` reports unknown keys and unparsable values as warnings and still exits 0, so any line
# it prints about our units counts as a failure here. Lines about other units (the host's own,
# pulled in as dependencies such as network-online.target) are shown but not held against ours.
set -eu

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "verify.sh: systemd-analyze not found (install the systemd package): units not checked" >&2
  exit 77
fi

# In tenths, as systemd-analyze takes it: 20 = an exposure level of 2.0.
THRESHOLD=${PGRELAY_UNIT_EXPOSURE_MAX:-20}
limit=$(awk -v t="$THRESHOLD" 'BEGIN { printf "%.1f", t / 10 }')
dir=${1:-$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
for unit in pgrelay.service pgrelay@.service; do
  if [ ! -f "$dir/$unit" ]; then
    echo "verify.sh: $dir/$unit is missing" >&2
    exit 1
  fi
  cp "$dir/$unit" "$work/$unit"
done

# verify checks that ExecStart's program exists: /bin/sh, which runs the launcher.
ln -s pgrelay@.service "$work/pgrelay@demo.service"

failed=0
for unit in pgrelay.service pgrelay@.service pgrelay@demo.service; do
  status=0
  out=$(cd "$work" && systemd-analyze verify --man=no "$work/$unit" 2>&1) || status=$?
  ours=$(printf '%s\n' "$out" | grep -F 'pgrelay' || true)
  if [ "$status" -ne 0 ] || [ -n "$ours" ]; then
    echo "FAIL systemd-analyze verify $unit (exit $status):"
    printf '%s\n' "$out" | sed 's/^/  /'
    failed=1
  else
    echo "ok   systemd-analyze verify $unit"
    if [ -n "$out" ]; then
      printf '%s\n' "$out" | sed 's/^/  (not about pgrelay) /'
    fi
  fi
done

if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
  for unit in pgrelay.service pgrelay@demo.service; do
    status=0
    out=$(cd "$work" && systemd-analyze security --offline=yes --threshold="$THRESHOLD" --no-pager \
      "$work/$unit" 2>&1) || status=$?
    level=$(printf '%s\n' "$out" | grep 'Overall exposure level' || true)
    if [ "$status" -ne 0 ] || [ -z "$level" ]; then
      echo "FAIL systemd-analyze security $unit (exit $status, at most $limit):"
      printf '%s\n' "$out" | sed 's/^/  /'
      failed=1
    else
      echo "ok   systemd-analyze security $unit: ${level#*: } (at most $limit)"
      printf '%s\n' "$out" | grep '✗' | sed 's/^/  /' || true
    fi
  done
else
  echo "note: this systemd-analyze has no 'security --offline' (systemd 250 or later): exposure not checked"
fi

exit "$failed"
