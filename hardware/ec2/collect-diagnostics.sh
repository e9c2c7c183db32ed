#!/usr/bin/env bash
# Collect what is needed to understand a failed hardware run into DIR (default
# reports/hardware-diagnostics). Never fails: each piece that cannot be read is noted instead.
# Usage: sudo -E hardware/ec2/collect-diagnostics.sh [DIR]
set -uo pipefail

dir="${1:-reports/hardware-diagnostics}"
RESCTRL_ROOT="${RESCTRL_ROOT:-/sys/fs/resctrl}"
export KUBECONFIG="${KUBECONFIG:-/etc/rancher/k3s/k3s.yaml}"
mkdir -p "${dir}"

# capture NAME COMMAND [ARGS...]: stdout+stderr of one command into DIR/NAME.txt
capture() {
  local name="$1"
  shift
  { "$@" 2>&1 || echo "(exit $?)"; } >"${dir}/${name}.txt"
}

capture uname uname -a
capture os-release cat /etc/os-release
capture cpu-flags grep -m1 '^flags' /proc/cpuinfo
capture mounts grep -E 'resctrl|cgroup' /proc/mounts
capture dmesg-resctrl sh -c "dmesg | grep -i -E 'resctrl|rdt' | tail -n 200"
capture resctrl-info sh -c "for f in ${RESCTRL_ROOT}/info/L3_MON/*; do echo \"\$f: \$(cat \"\$f\" 2>&1)\"; done"
capture resctrl-groups sh -c "ls -la ${RESCTRL_ROOT} ${RESCTRL_ROOT}/mon_groups; echo; cat ${RESCTRL_ROOT}/info/last_cmd_status"
capture k3s-journal journalctl -u k3s -n 400 --no-pager
capture k3s-version k3s --version
capture runtime-version sh -c "k3s crictl version; echo; cat ${HW_STATE_DIR:-/run/nri-resctrl-hw}/runtime-versions.txt"
capture hw-state sh -c "ls -la ${HW_STATE_DIR:-/run/nri-resctrl-hw}; grep -H . ${HW_STATE_DIR:-/run/nri-resctrl-hw}/*"
capture containerd-config cat /var/lib/rancher/k3s/agent/etc/containerd/config.toml
capture nri-socket ls -la /var/run/nri
capture pods kubectl get pods -A -o wide
capture events kubectl get events -A --sort-by=.lastTimestamp
echo "hardware/diagnostics: wrote ${dir}"
