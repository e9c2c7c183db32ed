# shellcheck shell=bash
# Shared helpers for the hardware/ec2 scripts. Source it; it defines functions only and changes
# no shell options of the caller.
#
# Every failure goes through `die`, which prints one line starting with "hardware: FAILED:" plus
# a hint, so a CI log shows the reason without scrolling through a stack of set -x output.

HW_LOG_PREFIX="${HW_LOG_PREFIX:-hardware}"

log() {
  printf '%s: %s\n' "${HW_LOG_PREFIX}" "$*" >&2
}

warn() {
  printf '%s: WARNING: %s\n' "${HW_LOG_PREFIX}" "$*" >&2
}

# die MESSAGE [HINT]
die() {
  printf '%s: FAILED: %s\n' "${HW_LOG_PREFIX}" "$1" >&2
  if [ -n "${2:-}" ]; then
    printf '%s:   hint: %s\n' "${HW_LOG_PREFIX}" "$2" >&2
  fi
  exit 1
}

require_root() {
  if [ "$(id -u)" -ne 0 ]; then
    die "must run as root (uid $(id -u))" "re-run with sudo -E"
  fi
}

require_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || die "required command not found: $c" "install it (apt-get install -y $c) and re-run"
  done
}

# wait_for SECONDS DESCRIPTION COMMAND [ARGS...]
# Polls COMMAND once a second until it succeeds or SECONDS have passed. Returns 1 on timeout
# (the caller decides whether that is fatal and what to print).
wait_for() {
  local timeout="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + timeout))
  while true; do
    if "$@" >/dev/null 2>&1; then
      log "ok: ${what}"
      return 0
    fi
    if [ "${SECONDS}" -ge "${deadline}" ]; then
      warn "timed out after ${timeout}s waiting for: ${what}"
      return 1
    fi
    sleep 1
  done
}

# True when resctrl is mounted exactly at $1 (reads /proc/mounts; octal escapes are not expected
# in this path).
resctrl_mounted_at() {
  awk -v mp="$1" '$3 == "resctrl" && $2 == mp { found = 1 } END { exit found ? 0 : 1 }' /proc/mounts
}

# True when the running kernel knows the resctrl filesystem type.
resctrl_in_kernel() {
  grep -qw resctrl /proc/filesystems
}

# cpu_has_flag FLAG: true when /proc/cpuinfo lists FLAG on its first "flags" line.
cpu_has_flag() {
  awk -v f="$1" '/^flags[[:space:]]*:/ { for (i = 3; i <= NF; i++) if ($i == f) { found = 1 } ; exit } END { exit found ? 0 : 1 }' /proc/cpuinfo
}
