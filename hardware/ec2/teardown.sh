#!/usr/bin/env bash
# Undo what a hardware run leaves behind. Safe to run any number of times, also after a crash.
#   default          delete the test namespace and the runs' own namespaces (label
#                    app.kubernetes.io/part-of=nri-resctrl-e2e), stop stray test daemons, rmdir every resctrl
#                    group whose name starts with a hardware-world prefix (hwp_, hwf_, hwo_) in
#                    <resctrl> and <resctrl>/mon_groups, and restore info/L3_MON/
#                    max_threshold_occupancy to the value provision.sh found (saved in
#                    $HW_STATE_DIR/max_threshold_occupancy.orig). Nothing else is touched.
#   --uninstall-k3s  also run k3s-uninstall.sh (removes k3s, its containerd and all pods)
#   --umount         also unmount resctrl (removes every group, ours or not)
#
# Usage: sudo -E hardware/ec2/teardown.sh [--uninstall-k3s] [--umount]
# Environment: RESCTRL_ROOT (default /sys/fs/resctrl), HW_NAMESPACE (default nri-resctrl-e2e),
#              HW_GROUP_PREFIXES (default "hwp_ hwf_ hwo_": plugin, filler, foreign seeds),
#              HW_STATE_DIR (default /run/nri-resctrl-hw).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hardware/ec2/lib.sh
. "${HERE}/lib.sh"
HW_LOG_PREFIX="hardware/teardown"

RESCTRL_ROOT="${RESCTRL_ROOT:-/sys/fs/resctrl}"
HW_NAMESPACE="${HW_NAMESPACE:-nri-resctrl-e2e}"
HW_GROUP_PREFIXES="${HW_GROUP_PREFIXES:-hwp_ hwf_ hwo_}"
export KUBECONFIG="${KUBECONFIG:-/etc/rancher/k3s/k3s.yaml}"

uninstall=false
umount_resctrl=false
while [ $# -gt 0 ]; do
  case "$1" in
    --uninstall-k3s) uninstall=true ;;
    --umount) umount_resctrl=true ;;
    -h | --help)
      awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"
      exit 0
      ;;
    *) die "unknown argument: $1" "see $0 --help" ;;
  esac
  shift
done
require_root

status=0

if command -v kubectl >/dev/null 2>&1 && kubectl get --raw /readyz >/dev/null 2>&1; then
  if kubectl get namespace "${HW_NAMESPACE}" >/dev/null 2>&1; then
    kubectl delete namespace "${HW_NAMESPACE}" --wait=true --timeout=120s || {
      warn "namespace ${HW_NAMESPACE} not deleted within 120s"
      status=1
    }
  fi
  log "ok: namespace ${HW_NAMESPACE} absent"
  # Namespaces a scenario named (nri-resctrl-e2e-<run>-<name>); the world deletes its own, a crash leaves them.
  kubectl delete namespace -l app.kubernetes.io/part-of=nri-resctrl-e2e --wait=true --timeout=120s >/dev/null || {
    warn "namespaces labelled app.kubernetes.io/part-of=nri-resctrl-e2e not deleted within 120s"
    status=1
  }
  log "ok: no namespace of a run left"
else
  log "cluster not reachable; skipping namespace cleanup"
fi

# Daemons the hardware world started and a crash left behind carry this marker in argv.
if pids="$(pgrep -f -- '--group-prefix hwp_' || true)" && [ -n "${pids}" ]; then
  for pid in ${pids}; do
    log "stopping stray test daemon pid ${pid}"
    kill -TERM "${pid}" 2>/dev/null || true
  done
fi

remove_groups_in() {
  local dir="$1" prefix d
  [ -d "${dir}" ] || return 0
  for prefix in ${HW_GROUP_PREFIXES}; do
    for d in "${dir}/${prefix}"*; do
      [ -d "${d}" ] || continue
      if rmdir "${d}"; then
        log "removed ${d}"
      else
        warn "could not remove ${d}"
        status=1
      fi
    done
  done
}

# The threshold provision.sh raised (and a crashed scenario may have left at 0): back to the value
# provision.sh found. The saved file is consumed, so a later provision.sh saves afresh.
restore_limbo_threshold() {
  local file="${RESCTRL_ROOT}/info/L3_MON/max_threshold_occupancy" saved="${HW_STATE_DIR}/max_threshold_occupancy.orig"
  local value
  if [ ! -s "${saved}" ]; then
    log "no saved max_threshold_occupancy (${saved}); leaving it at $(cat "${file}" 2>/dev/null || echo '?') bytes"
    return 0
  fi
  value="$(cat "${saved}")"
  if echo "${value}" >"${file}" 2>/dev/null; then
    rm -f "${saved}"
    log "ok: max_threshold_occupancy restored to ${value} bytes"
  else
    warn "could not restore ${file} to ${value} (kept in ${saved})"
    status=1
  fi
}

if resctrl_mounted_at "${RESCTRL_ROOT}"; then
  remove_groups_in "${RESCTRL_ROOT}/mon_groups"
  remove_groups_in "${RESCTRL_ROOT}"
  restore_limbo_threshold
  if [ "${umount_resctrl}" = true ]; then
    if umount "${RESCTRL_ROOT}"; then
      log "unmounted ${RESCTRL_ROOT}"
    else
      warn "umount ${RESCTRL_ROOT} failed"
      status=1
    fi
  fi
else
  log "resctrl not mounted at ${RESCTRL_ROOT}; no groups to remove"
fi

if [ "${uninstall}" = true ]; then
  if [ -x /usr/local/bin/k3s-uninstall.sh ]; then
    /usr/local/bin/k3s-uninstall.sh || {
      warn "k3s-uninstall.sh failed"
      status=1
    }
  else
    log "k3s not installed"
  fi
fi

[ "${status}" -eq 0 ] || die "teardown finished with errors (see warnings above)"
log "done"
