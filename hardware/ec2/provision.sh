#!/usr/bin/env bash
# Provision an RDT-capable EC2 host (Ubuntu 24.04, e.g. m7i.metal-24xl) for the hardware profile:
#   1. checks cgroup v2, the kernel's resctrl support and the CPU's RDT monitoring flags;
#   2. mounts resctrl at /sys/fs/resctrl, verifies L3 monitoring (info/L3_MON) and raises
#      info/L3_MON/max_threshold_occupancy to the LLC size, so freed RMIDs leave limbo within a
#      second (the original value is saved in $HW_STATE_DIR; teardown.sh restores it);
#   3. installs single-node k3s at a PINNED version, makes NRI explicit in its containerd config,
#      waits for /var/run/nri/nri.sock and a Ready node, and records which containerd and NRI
#      version k3s runs ($HW_STATE_DIR/runtime-versions.txt, and the job summary in CI);
#   4. installs Node.js 20 (pinned, checksum-verified tarball) unless a Node >= 20 is present;
#   5. builds the project (npm ci && npm run build).
# apt waits for the dpkg lock held by first-boot upgrades instead of failing (APT_LOCK_TIMEOUT).
#
# Idempotent: every step checks before it changes anything, so re-running is safe and fast.
# Fails loudly: every failure prints one "hardware: FAILED: <what>" line and a hint.
#
# Usage: sudo -E hardware/ec2/provision.sh [--check] [--skip-k3s] [--skip-node] [--skip-project] [--repo DIR]
#   --check   verify only (host, resctrl, k3s, NRI socket, node); install, mount or write nothing
# Environment (all optional):
#   INSTALL_K3S_VERSION   k3s release to install (default below; >= v1.31.6 embeds containerd 2.x)
#   APT_LOCK_TIMEOUT      seconds apt-get waits for a dpkg/apt lock held by another apt (default 600)
#   HW_STATE_DIR          where host state is kept (default /run/nri-resctrl-hw)
#   NODE_VERSION          Node.js release for the tarball install (default below)
#   RESCTRL_ROOT          resctrl mount point (default /sys/fs/resctrl)
#   NRI_SOCKET            NRI socket path (default /var/run/nri/nri.sock)
#   HW_PREPULL_IMAGES     space-separated images to pre-pull into k3s (default: the test workload image)
#   K3S_READY_TIMEOUT     seconds to wait for API, node and NRI socket (default 300)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hardware/ec2/lib.sh
. "${HERE}/lib.sh"
HW_LOG_PREFIX="hardware/provision"

# Pinned. v1.32.5+k3s1 embeds containerd 2.0.5 (NRI v0.8.0), which has the initial plugin-sync
# race fix of containerd 2.0.3 (k3s PR #12003 bumped release-1.32 to containerd 2.0.4 in March
# 2025); record_runtime below reads back what the installed k3s really runs.
INSTALL_K3S_VERSION="${INSTALL_K3S_VERSION:-v1.32.5+k3s1}"
NODE_VERSION="${NODE_VERSION:-20.20.2}"
RESCTRL_ROOT="${RESCTRL_ROOT:-/sys/fs/resctrl}"
NRI_SOCKET="${NRI_SOCKET:-/var/run/nri/nri.sock}"
HW_PREPULL_IMAGES="${HW_PREPULL_IMAGES:-docker.io/library/python:3.12-alpine}"
K3S_READY_TIMEOUT="${K3S_READY_TIMEOUT:-300}"
K3S_CONTAINERD_DIR=/var/lib/rancher/k3s/agent/etc/containerd
export KUBECONFIG=/etc/rancher/k3s/k3s.yaml

check_only=false
skip_k3s=false
skip_node=false
skip_project=false
repo="$(cd "${HERE}/../.." && pwd)"
while [ $# -gt 0 ]; do
  case "$1" in
    --check) check_only=true ;;
    --skip-k3s) skip_k3s=true ;;
    --skip-node) skip_node=true ;;
    --skip-project) skip_project=true ;;
    --repo)
      shift
      repo="${1:?--repo needs a directory}"
      ;;
    -h | --help)
      awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"
      exit 0
      ;;
    *) die "unknown argument: $1" "see $0 --help" ;;
  esac
  shift
done

check_host() {
  require_root
  if [ -r /etc/os-release ]; then
    # shellcheck disable=SC1091
    . /etc/os-release
    if [ "${ID:-}" != "ubuntu" ] || [ "${VERSION_ID:-}" != "24.04" ]; then
      warn "tested on Ubuntu 24.04; this is ${PRETTY_NAME:-unknown} (continuing)"
    fi
  fi
  [ "$(uname -m)" = "x86_64" ] || die "architecture $(uname -m) is not x86_64" "Intel RDT needs an x86_64 host such as m7i.metal-24xl"
  [ -f /sys/fs/cgroup/cgroup.controllers ] || die "cgroup v2 is not mounted at /sys/fs/cgroup (hybrid or v1 host)" \
    "boot with systemd.unified_cgroup_hierarchy=1 (Ubuntu 24.04 does by default)"
  log "ok: cgroup v2 at /sys/fs/cgroup"
  resctrl_in_kernel || die "the kernel has no resctrl filesystem (/proc/filesystems lacks resctrl)" \
    "use a bare-metal RDT instance (m7i.metal-24xl, c7i.metal-24xl) and a kernel with CONFIG_X86_CPU_RESCTRL=y"
  log "ok: kernel supports resctrl"
  local f missing=""
  for f in cqm_llc cqm_occup_llc; do
    cpu_has_flag "$f" || missing="${missing} ${f}"
  done
  [ -z "${missing}" ] || die "CPU flags missing:${missing} (no RDT cache monitoring exposed)" \
    "virtualised instances hide RDT; use a .metal instance type"
  log "ok: CPU flags cqm_llc cqm_occup_llc"
}

mount_resctrl() {
  if resctrl_mounted_at "${RESCTRL_ROOT}"; then
    log "ok: resctrl already mounted at ${RESCTRL_ROOT}"
  elif [ "${check_only}" = true ]; then
    die "resctrl is not mounted at ${RESCTRL_ROOT}" "run hardware/ec2/provision.sh (without --check) to mount it"
  else
    [ -d "${RESCTRL_ROOT}" ] || die "${RESCTRL_ROOT} does not exist" "the kernel creates it when resctrl is built in"
    mount -t resctrl resctrl "${RESCTRL_ROOT}" || die "mount -t resctrl resctrl ${RESCTRL_ROOT} failed" \
      "see dmesg | grep -i resctrl; another mount elsewhere? grep resctrl /proc/mounts"
    log "ok: mounted resctrl at ${RESCTRL_ROOT}"
  fi
  local mon="${RESCTRL_ROOT}/info/L3_MON"
  [ -r "${mon}/num_rmids" ] || die "${mon}/num_rmids is missing: no L3 cache monitoring" \
    "the CPU or kernel lacks CQM; check dmesg | grep -i resctrl"
  local rmids
  rmids="$(cat "${mon}/num_rmids")"
  [ "${rmids}" -gt 0 ] 2>/dev/null || die "${mon}/num_rmids reads '${rmids}'" "expected a positive RMID count"
  grep -qx llc_occupancy "${mon}/mon_features" || die "${mon}/mon_features lacks llc_occupancy" "no LLC occupancy monitoring on this CPU"
  [ -d "${RESCTRL_ROOT}/mon_groups" ] || die "${RESCTRL_ROOT}/mon_groups is missing" "resctrl mounted without monitoring support"
  log "ok: L3_MON num_rmids=${rmids} max_threshold_occupancy=$(cat "${mon}/max_threshold_occupancy" 2>/dev/null || echo '?') bytes"
}

# A removed monitoring group's RMID stays in limbo while its llc_occupancy >= max_threshold_occupancy
# (the kernel re-checks once a second); the default (LLC size / num_rmids) can keep RMIDs in limbo
# for minutes on a busy cache. At the LLC size, the kernel's upper limit, every RMID leaves limbo at
# the next check. Occupancy readings of a reused RMID may then include its previous owner's lines:
# fine for a test host. The first value found is saved once per boot; teardown.sh restores it.
raise_limbo_threshold() {
  local file="${RESCTRL_ROOT}/info/L3_MON/max_threshold_occupancy" saved="${HW_STATE_DIR}/max_threshold_occupancy.orig"
  local now llc
  [ -w "${file}" ] || {
    warn "${file} is not writable; freed RMIDs may stay in limbo for a long time"
    return 0
  }
  now="$(cat "${file}")"
  llc="$(llc_bytes)"
  if [ -z "${llc}" ]; then
    warn "/proc/cpuinfo names no cache size; leaving max_threshold_occupancy at ${now} bytes"
    return 0
  fi
  if [ "${check_only}" = true ]; then
    log "max_threshold_occupancy=${now} bytes (provisioning raises it to the LLC size, ${llc} bytes)"
    return 0
  fi
  mkdir -p "${HW_STATE_DIR}"
  [ -s "${saved}" ] || echo "${now}" >"${saved}"
  if echo "${llc}" >"${file}" 2>/dev/null; then
    log "ok: max_threshold_occupancy ${now} -> $(cat "${file}") bytes (LLC size; original $(cat "${saved}") saved in ${saved})"
  else
    warn "the kernel refused max_threshold_occupancy=${llc}; it stays at ${now} bytes (limbo may drain slowly)"
  fi
}

install_packages() {
  local need=()
  local c
  for c in curl git; do
    command -v "$c" >/dev/null 2>&1 || need+=("$c")
  done
  [ -f /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    apt_get update || die "apt-get update failed" "check the network and /etc/apt/sources.list*; another apt still running? (APT_LOCK_TIMEOUT)"
    apt_get install -y "${need[@]}" || die "apt-get install ${need[*]} failed" "see the apt output above"
  fi
}

install_k3s() {
  local have=""
  if command -v k3s >/dev/null 2>&1; then
    have="$(k3s --version | awk 'NR == 1 { print $3 }')"
  fi
  if [ "${have}" = "${INSTALL_K3S_VERSION}" ]; then
    log "ok: k3s ${have} already installed"
    systemctl is-active --quiet k3s || systemctl start k3s
  else
    [ -z "${have}" ] || warn "k3s ${have} installed; replacing it with ${INSTALL_K3S_VERSION}"
    # Upstream raised these for k3s on large metal hosts; too-low inotify limits break kubelet.
    sysctl -q -w fs.inotify.max_user_instances=8192 fs.inotify.max_user_watches=524288
    local script
    script="$(mktemp)"
    curl -sfL --retry 3 -o "${script}" https://get.k3s.io || die "cannot download the k3s install script" "check outbound HTTPS from this host"
    INSTALL_K3S_VERSION="${INSTALL_K3S_VERSION}" INSTALL_K3S_EXEC="server" sh "${script}" \
      --disable=traefik --disable=servicelb --disable=metrics-server \
      --write-kubeconfig="${KUBECONFIG}" --write-kubeconfig-mode=644 ||
      die "k3s ${INSTALL_K3S_VERSION} install failed" "journalctl -u k3s -n 100 --no-pager"
    rm -f "${script}"
  fi
  wait_for "${K3S_READY_TIMEOUT}" "k3s API answers" kubectl get --raw /readyz ||
    die "k3s API not ready after ${K3S_READY_TIMEOUT}s" "journalctl -u k3s -n 100 --no-pager"
}

# Which template name k3s reads depends on the config version its containerd renders:
# containerd 2.x renders "version = 3" and reads config-v3.toml.tmpl, 1.7 reads config.toml.tmpl.
containerd_template_path() {
  if grep -q '^version = 3' "${K3S_CONTAINERD_DIR}/config.toml"; then
    echo "${K3S_CONTAINERD_DIR}/config-v3.toml.tmpl"
  else
    echo "${K3S_CONTAINERD_DIR}/config.toml.tmpl"
  fi
}

ensure_nri() {
  local rendered="${K3S_CONTAINERD_DIR}/config.toml"
  wait_for 60 "k3s rendered ${rendered}" test -s "${rendered}" || die "k3s did not render ${rendered}" "journalctl -u k3s -n 100"
  if grep -q 'io.containerd.nri.v1.nri' "${rendered}"; then
    # Inside the NRI section (until the next table header, indented or not): disable = true?
    if awk '/io\.containerd\.nri\.v1\.nri/ { s = 1; next } /^[[:space:]]*\[/ { s = 0 } s && /^[[:space:]]*disable[[:space:]]*=[[:space:]]*true/ { bad = 1 } END { exit bad ? 0 : 1 }' "${rendered}"; then
      die "the NRI section in ${rendered} sets disable = true" \
        "remove that override from ${K3S_CONTAINERD_DIR}/*.tmpl and restart k3s"
    fi
    log "ok: ${rendered} configures NRI explicitly"
  else
    # Make NRI explicit: k3s extends its own base template with this fragment.
    local tmpl
    tmpl="$(containerd_template_path)"
    [ ! -e "${tmpl}" ] || die "${tmpl} exists but the rendered config has no NRI section" \
      "add the contents of hardware/ec2/containerd-nri.toml to ${tmpl} by hand and restart k3s"
    {
      echo '{{ template "base" . }}'
      echo
      sed -e "s#@NRI_SOCKET@#${NRI_SOCKET}#" "${HERE}/containerd-nri.toml"
    } >"${tmpl}"
    log "wrote ${tmpl}; restarting k3s to apply it"
    systemctl restart k3s
    wait_for 120 "k3s re-rendered its containerd config with NRI" grep -q 'io.containerd.nri.v1.nri' "${rendered}" ||
      die "k3s did not render the NRI section from ${tmpl}" "journalctl -u k3s -n 100 --no-pager"
  fi
  wait_for 60 "NRI socket ${NRI_SOCKET}" test -S "${NRI_SOCKET}" ||
    die "NRI socket ${NRI_SOCKET} did not appear within 60s" \
      "check 'k3s ctr version' (containerd >= 1.7 needed), the NRI section of ${rendered}, and journalctl -u k3s | grep -i nri"
  if grep -q 'SystemdCgroup = true' "${rendered}"; then
    log "ok: containerd uses the systemd cgroup driver"
  else
    warn "containerd does not use the systemd cgroup driver; the plugin handles cgroupfs paths too, but the target setup is systemd"
  fi
}

# The containerd version k3s runs, as CRI reports it (crictl), else as `ctr version` (server part)
# or containerd's own log line ("starting containerd ... version=...") says. Empty when unknown.
containerd_version() {
  local v
  v="$(k3s crictl version 2>/dev/null | awk '$1 == "RuntimeVersion:" { print $2; exit }')"
  [ -n "${v}" ] || v="$(k3s ctr version 2>/dev/null | awk '/^Server:/ { s = 1 } s && $1 == "Version:" { print $2; exit }')"
  [ -n "${v}" ] || v="$(grep -ho 'msg="starting containerd".*version=[^ ]*' /var/lib/rancher/k3s/agent/containerd/containerd.log 2>/dev/null |
    tail -n 1 | sed 's/.*version=//')"
  echo "${v}"
}

# Records which k3s, containerd and NRI the host runs: the log, $HW_STATE_DIR/runtime-versions.txt,
# and the GitHub job summary when there is one. The NRI version is looked up from containerd's
# (nri_version_for in lib.sh); containerd reports none before NRI v0.12.
record_runtime() {
  local k3s_version cd_version nri file="${HW_STATE_DIR}/runtime-versions.txt"
  k3s_version="$(k3s --version | awk 'NR == 1 { print $3 }')"
  cd_version="$(containerd_version)"
  [ -n "${cd_version}" ] || die "cannot tell which containerd k3s runs" "k3s crictl version; k3s ctr version; journalctl -u k3s | grep -i containerd"
  nri="$(nri_version_for "${cd_version}")"
  log "runtime: k3s ${k3s_version}, containerd ${cd_version}, NRI ${nri} (from the containerd version)"
  [ "${check_only}" = true ] && return 0
  mkdir -p "${HW_STATE_DIR}"
  printf 'k3s=%s\ncontainerd=%s\nnri=%s\n' "${k3s_version}" "${cd_version}" "${nri}" >"${file}"
  log "ok: recorded in ${file}"
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    printf '### hardware host runtime\n\n| k3s | containerd | NRI (from the containerd version) |\n|---|---|---|\n| %s | %s | %s |\n' \
      "${k3s_version}" "${cd_version}" "${nri}" >>"${GITHUB_STEP_SUMMARY}" || warn "cannot write the job summary"
  fi
}

wait_node_ready() {
  wait_for "${K3S_READY_TIMEOUT}" "node Ready" kubectl wait --for=condition=Ready node --all --timeout=5s ||
    die "node not Ready after ${K3S_READY_TIMEOUT}s" "kubectl describe node; journalctl -u k3s -n 100"
  wait_for 60 "default service account" kubectl -n default get serviceaccount default ||
    die "default service account missing" "kubectl -n kube-system get pods"
  local img
  for img in ${HW_PREPULL_IMAGES}; do
    # Through CRI, so the image lands where the kubelet looks (namespace k8s.io, CRI snapshotter).
    k3s crictl pull "${img}" >/dev/null || die "cannot pull ${img}" "check outbound access to the registry"
    log "ok: image ${img} present"
  done
}

install_node() {
  if command -v node >/dev/null 2>&1; then
    local major
    major="$(node -p 'process.versions.node.split(".")[0]')"
    if [ "${major}" -ge 20 ]; then
      log "ok: node $(node --version) already installed"
      return
    fi
    warn "node $(node --version) is older than 20; installing ${NODE_VERSION}"
  fi
  local base="https://nodejs.org/dist/v${NODE_VERSION}" file="node-v${NODE_VERSION}-linux-x64.tar.xz" tmp
  tmp="$(mktemp -d)"
  curl -sfL --retry 3 -o "${tmp}/${file}" "${base}/${file}" || die "cannot download ${base}/${file}" "check NODE_VERSION and outbound HTTPS"
  curl -sfL --retry 3 -o "${tmp}/SHASUMS256.txt" "${base}/SHASUMS256.txt" || die "cannot download ${base}/SHASUMS256.txt"
  (cd "${tmp}" && grep " ${file}\$" SHASUMS256.txt | sha256sum -c --status) || die "checksum mismatch for ${file}" "retry; if it persists the download is corrupt"
  tar -xJf "${tmp}/${file}" -C /usr/local --strip-components=1
  rm -rf "${tmp}"
  log "ok: installed node $(node --version)"
}

build_project() {
  [ -f "${repo}/package.json" ] || die "${repo} is not the project checkout (no package.json)" "pass --repo DIR"
  (cd "${repo}" && npm ci --no-audit --no-fund && npm run build) || die "npm ci / npm run build failed in ${repo}" "run them by hand to see the error"
  [ -f "${repo}/dist/cli.js" ] || die "build produced no dist/cli.js" "check tsconfig.build.json"
  log "ok: built ${repo}/dist/cli.js"
}

# Verification only: the same checks the install path ends with, without changing anything.
check_installed() {
  command -v k3s >/dev/null 2>&1 || die "k3s is not installed" "run hardware/ec2/provision.sh"
  log "ok: k3s $(k3s --version | awk 'NR == 1 { print $3 }') (pinned: ${INSTALL_K3S_VERSION})"
  kubectl get --raw /readyz >/dev/null 2>&1 || die "k3s API not reachable with KUBECONFIG=${KUBECONFIG}" "systemctl status k3s"
  kubectl wait --for=condition=Ready node --all --timeout=5s >/dev/null || die "node not Ready" "kubectl describe node"
  log "ok: node Ready"
  [ -S "${NRI_SOCKET}" ] || die "NRI socket ${NRI_SOCKET} missing" "run hardware/ec2/provision.sh; see docs/hardware.md#nri-socket-missing"
  log "ok: NRI socket ${NRI_SOCKET}"
  record_runtime
  command -v node >/dev/null 2>&1 || die "node is not installed" "run hardware/ec2/provision.sh"
  log "ok: node $(node --version)"
}

check_host
mount_resctrl
raise_limbo_threshold
if [ "${check_only}" = true ]; then
  check_installed
  log "check passed: this host can run the hardware profile"
  exit 0
fi
install_packages
if [ "${skip_k3s}" = false ]; then
  install_k3s
  ensure_nri
  wait_node_ready
  record_runtime
fi
[ "${skip_node}" = true ] || install_node
[ "${skip_project}" = true ] || build_project
log "done: KUBECONFIG=${KUBECONFIG} NRI_SOCKET=${NRI_SOCKET} RESCTRL_ROOT=${RESCTRL_ROOT}"
log "next: hardware/ec2/rmid-gc-wait.sh && npx cucumber-js --profile hardware"
