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

# Where the hardware scripts keep host state that lives as long as the boot (/run is a tmpfs):
# the original max_threshold_occupancy, the runtime versions provision.sh read back.
HW_STATE_DIR="${HW_STATE_DIR:-/run/nri-resctrl-hw}"

# llc_bytes: the LLC size in bytes from /proc/cpuinfo ("cache size : 107520 KB"), the kernel's
# upper limit of info/L3_MON/max_threshold_occupancy. Prints nothing when unknown.
llc_bytes() {
  awk -F: '/^cache size/ { gsub(/[^0-9]/, "", $2); if ($2 != "") { print $2 * 1024; exit } }' /proc/cpuinfo
}

# apt_get ARGS...: apt-get that waits for the apt/dpkg locks instead of failing while another apt
# holds them (on a fresh instance: cloud-init, unattended-upgrades, apt-daily). dpkg's frontend lock
# is waited for by apt itself (DPkg::Lock::Timeout); a lock apt does not wait for (the lists lock
# of `apt-get update`) is retried every APT_LOCK_RETRY_SECONDS (default 5). Gives up after
# APT_LOCK_TIMEOUT seconds (default 600); any other failure is returned at once.
apt_get() {
  local deadline=$((SECONDS + ${APT_LOCK_TIMEOUT:-600})) err rc
  err="$(mktemp)"
  while true; do
    rc=0
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 -q "$@" 2>"${err}" || rc=$?
    cat "${err}" >&2
    if [ "${rc}" -eq 0 ]; then
      rm -f "${err}"
      return 0
    fi
    if ! grep -qE 'Could not get lock|Unable to acquire the dpkg frontend lock|Unable to lock (the )?(administration )?directory|is another process using it' "${err}" ||
      [ "${SECONDS}" -ge "${deadline}" ]; then
      rm -f "${err}"
      return "${rc}"
    fi
    log "apt/dpkg lock held by another process (first-boot upgrades?); retrying apt-get $1 in ${APT_LOCK_RETRY_SECONDS:-5}s"
    sleep "${APT_LOCK_RETRY_SECONDS:-5}"
  done
}

# nri_version_for CONTAINERD_VERSION: the NRI module that containerd release embeds (containerd
# reports none before NRI v0.12). The same table as support/worlds/hardware/runtime-version.ts
# (nriVersionForContainerd); a unit test keeps the two equal.
nri_version_for() {
  local v="${1#v}" major minor patch
  v="${v%%[!0-9.]*}"
  IFS=. read -r major minor patch _ <<<"${v}"
  case "${major}.${minor}.${patch}" in
    *[!0-9.]* | .* | *..* | *.) echo "unknown (unparsable containerd version \"$1\")" && return ;;
  esac
  if [ "${major}" -lt 1 ] || { [ "${major}" -eq 1 ] && [ "${minor}" -lt 7 ]; }; then
    echo "none (containerd before 1.7 has no NRI)"
  elif [ "${major}" -eq 1 ] && [ "${minor}" -eq 7 ]; then
    if [ "${patch}" -lt 16 ]; then
      echo "unknown (containerd ${major}.${minor}.${patch} is not in the table)"
    elif [ "${patch}" -le 25 ]; then
      echo "v0.6.1"
    else
      echo "v0.8.0"
    fi
  elif [ "${major}" -eq 2 ] && { [ "${minor}" -eq 0 ] || [ "${minor}" -eq 1 ]; }; then
    echo "v0.8.0"
  elif [ "${major}" -eq 2 ] && [ "${minor}" -eq 2 ]; then
    if [ "${patch}" -eq 0 ]; then
      echo "v0.10.0"
    elif [ "${patch}" -ge 7 ]; then
      echo "v0.11.0"
    else
      echo "v0.10.0 or v0.11.0 (not recorded for this patch release)"
    fi
  elif [ "${major}" -eq 2 ] && [ "${minor}" -eq 3 ]; then
    echo "v0.12.0"
  else
    echo "unknown (containerd ${major}.${minor}.${patch} is not in the table)"
  fi
}
