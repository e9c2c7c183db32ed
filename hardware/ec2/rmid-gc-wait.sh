#!/usr/bin/env bash
# Wait until the kernel can hand out a fresh RMID: repeatedly mkdir + rmdir a probe monitoring
# group under <resctrl>/mon_groups until both succeed. After many groups were removed (an earlier
# exhaustion run, a crashed test), their RMIDs sit in "limbo" while the cache occupancy they
# tagged is at or above info/L3_MON/max_threshold_occupancy (the kernel re-checks once a second);
# while no RMID is free, mkdir fails with EBUSY if some are in limbo and ENOSPC if none is (then
# only removing groups helps: teardown.sh). provision.sh raises the threshold to the LLC size, so
# limbo drains within about a second.
#
# Usage: sudo hardware/ec2/rmid-gc-wait.sh [TIMEOUT_SECONDS]   (default 60; env RESCTRL_ROOT)
# Exit 0 when a probe succeeded, 1 (with a diagnosis) on timeout or when monitoring is missing.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hardware/ec2/lib.sh
. "${HERE}/lib.sh"
HW_LOG_PREFIX="hardware/rmid-gc-wait"

RESCTRL_ROOT="${RESCTRL_ROOT:-/sys/fs/resctrl}"
timeout="${1:-60}"
case "${timeout}" in
  '' | *[!0-9]*) die "timeout must be a number of seconds, got '${timeout}'" ;;
esac

require_root
resctrl_mounted_at "${RESCTRL_ROOT}" || die "resctrl is not mounted at ${RESCTRL_ROOT}" "run hardware/ec2/provision.sh first"
mon_groups="${RESCTRL_ROOT}/mon_groups"
[ -d "${mon_groups}" ] || die "${mon_groups} is missing" "this host has no resctrl monitoring"

probe="${mon_groups}/gc-check-$$"
# shellcheck disable=SC2317 # invoked through the EXIT trap
cleanup() { rmdir "${probe}" 2>/dev/null || true; }
trap cleanup EXIT

deadline=$((SECONDS + timeout))
attempt=0
last_error=""
while true; do
  attempt=$((attempt + 1))
  if last_error="$(mkdir "${probe}" 2>&1)"; then
    if last_error="$(rmdir "${probe}" 2>&1)"; then
      log "ok: RMID available (probe mkdir/rmdir succeeded on attempt ${attempt})"
      exit 0
    fi
  fi
  if [ "${SECONDS}" -ge "${deadline}" ]; then
    break
  fi
  sleep 1
done

in_use="$(find "${mon_groups}" -mindepth 1 -maxdepth 1 -type d | wc -l)"
die "no RMID became free within ${timeout}s (${attempt} attempts; last error: ${last_error})" \
  "num_rmids=$(cat "${RESCTRL_ROOT}/info/L3_MON/num_rmids" 2>/dev/null || echo '?'), mon_groups in use=${in_use}, max_threshold_occupancy=$(cat "${RESCTRL_ROOT}/info/L3_MON/max_threshold_occupancy" 2>/dev/null || echo '?'); remove stale groups with hardware/ec2/teardown.sh, then retry"
