#!/usr/bin/env bash
# A private, throw-away containerd with NRI enabled (default 1.7.24 from Debian trixie; 2.x from
# forky works too), for integration tests on a plain Debian 12 VM (see
# hardware/local-containerd/README.md).
set -euo pipefail

readonly SELF="${BASH_SOURCE[0]}"
readonly SUITE="${NRI_CONTAINERD_SUITE:-trixie}"
[[ $SUITE =~ ^[a-z][a-z0-9-]*$ ]] || {
  printf 'local-containerd: error: invalid NRI_CONTAINERD_SUITE "%s"\n' "$SUITE" >&2
  exit 2
}
# The cache of suite trixie is NRI_CONTAINERD_CACHE itself (as it always was); any other suite gets
# its own cache next to it, <cache>-<suite>, so that switching suites never reuses the other's binaries.
readonly CACHE_BASE="${NRI_CONTAINERD_CACHE:-/var/cache/nri-resctrl-plugin/containerd}"
if [[ $SUITE == trixie ]]; then CACHE=$CACHE_BASE; else CACHE="$CACHE_BASE-$SUITE"; fi
# The containerd each suite ships (checked after the download): trixie 1.7.24, forky 2.1.x.
case $SUITE in
  trixie) DEFAULT_VERSION=1.7.24 ;;
  forky) DEFAULT_VERSION=2.1 ;;
  *) DEFAULT_VERSION="" ;;
esac
readonly WANT_VERSION="${NRI_CONTAINERD_VERSION:-$DEFAULT_VERSION}"
readonly LOG_LEVEL="${NRI_CONTAINERD_LOG_LEVEL:-debug}"
readonly CGROUP_ROOT="${NRI_CONTAINERD_CGROUP_ROOT:-kubepods}"
readonly START_TIMEOUT="${NRI_CONTAINERD_START_TIMEOUT:-30}"
readonly MARKER=".nri-local-containerd"
# Not readonly: a run dir remembers the cache it was started from (set_paths switches to it).
BIN="$CACHE/root/usr/bin"
IMAGES="$CACHE/images"
# Exit code of `check` when this machine cannot run a local containerd (reason on stdout).
readonly EXIT_UNAVAILABLE=3

usage() {
  cat <<EOF
Usage: $SELF <command> [dir]

  fetch          Download containerd $WANT_VERSION from Debian $SUITE into the cache (without touching
                 the system's apt state), install bookworm's runc and busybox-static if missing, and
                 build the local images localhost/pause:1 and localhost/busybox:1. Idempotent.
                 Cache: $CACHE
  check          Exit 0 if this machine can run a local containerd, else exit $EXIT_UNAVAILABLE and print
                 the reason on stdout (not root, no cgroups, fetch impossible, ...).
  start <dir>    fetch, then start containerd with all its state under <dir> (created if missing,
                 must be empty or a previous <dir> of this script) and import the images. Prints
                 KEY=value lines (DIR, CRI_SOCKET, NRI_SOCKET, LOG, PID) on stdout. Idempotent: if
                 the daemon of <dir> runs already, it only prints them. Cleans up if it fails.
  restart <dir>  Stop only the daemon of <dir> (pods and shims keep running) and start it again
                 with the same state; containerd re-creates the NRI socket. restart, status and stop
                 use the cache (suite) <dir> was started from, whatever NRI_CONTAINERD_SUITE says.
  stop <dir>     Remove every container and pod of <dir>, kill the daemon and its shims, unmount
                 what is mounted under <dir>, remove the pod cgroups created since start, and
                 delete <dir>. Safe to call twice, and on a half-started <dir>.
  status <dir>   Print the KEY=value lines and RUNNING=yes|no.
  stop-all       stop every run dir of this script on the machine (daemons started from our caches,
                 and marked nri-ctrd* dirs in \$TMPDIR or /tmp). For CI cleanup; stops other users' runs too.

Environment: NRI_CONTAINERD_CACHE (default /var/cache/nri-resctrl-plugin/containerd; the cache of
suite trixie, other suites use <cache>-<suite>), NRI_CONTAINERD_SUITE ($SUITE; forky has 2.1.9),
NRI_CONTAINERD_VERSION (expected version prefix, $WANT_VERSION; e.g. 2.1 with forky),
NRI_CONTAINERD_LOG_LEVEL ($LOG_LEVEL), NRI_CONTAINERD_CGROUP_ROOT (top cgroup our pods use,
$CGROUP_ROOT), NRI_CONTAINERD_START_TIMEOUT (seconds, $START_TIMEOUT).
Progress goes to stderr. Needs root.
EOF
}

log() { printf 'local-containerd: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# ---------------------------------------------------------------------------------------------
# fetch

# apt-get on private sources, lists and cache under $CACHE/apt: the system's apt state is untouched.
readonly APT_PRIVATE=(apt-get -q -o Dir::Etc::SourceList=/dev/null
  -o "Dir::Etc::SourceParts=$CACHE/apt/sources" -o "Dir::State::Lists=$CACHE/apt/lists"
  -o "Dir::Cache=$CACHE/apt/cache" -o APT::Sandbox::User=root)

# Writes the private sources file: the system's archive URI and keyring, suite $SUITE.
write_private_sources() {
  local src=/etc/apt/sources.list.d/debian.sources uri key
  [[ -r $src ]] || die "failed to read $src (need the system's Debian archive URI)"
  uri=$(awk '/^URIs:/ { print $2; exit }' "$src")
  key=$(awk '/^Signed-By:/ { print $2; exit }' "$src")
  [[ -n $uri ]] || die "failed to find a URIs: line in $src"
  mkdir -p "$CACHE/apt/sources" "$CACHE/apt/lists/partial" "$CACHE/apt/cache/archives/partial"
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\n' "$uri" "$SUITE"
    if [[ -n $key ]]; then printf 'Signed-By: %s\n' "$key"; fi
  } >"$CACHE/apt/sources/$SUITE.sources"
}

fetch_containerd() {
  if [[ -x $BIN/containerd && -x $BIN/ctr && -x $BIN/containerd-shim-runc-v2 ]]; then
    return 0
  fi
  log "downloading containerd from Debian $SUITE into $CACHE"
  write_private_sources
  "${APT_PRIVATE[@]}" update >&2 || die "failed to update the private $SUITE package lists"
  local tmp
  tmp=$(mktemp -d "$CACHE/download.XXXXXX")
  (cd "$tmp" && "${APT_PRIVATE[@]}" download containerd >&2) || {
    rm -rf "$tmp"
    die "failed to download containerd from $SUITE"
  }
  rm -rf "$CACHE/root.new"
  dpkg -x "$tmp"/containerd_*.deb "$CACHE/root.new"
  # The shim must find bookworm's runc, never one unpacked from $SUITE (needs a newer glibc).
  find "$CACHE/root.new" -name runc \( -type f -o -type l \) -delete
  mv "$tmp"/containerd_*.deb "$CACHE/"
  rm -rf "$tmp" "$CACHE/root"
  mv "$CACHE/root.new" "$CACHE/root"
}

# Major version of the cached containerd (1 or 2): chooses the config layout.
containerd_major() {
  local v
  v=$("$BIN/containerd" --version) || die "failed to run $BIN/containerd (glibc too old?)"
  [[ $v =~ \ v?([0-9]+)\.[0-9]+ ]] || die "failed to parse the version of $BIN/containerd: '$v'"
  printf '%s\n' "${BASH_REMATCH[1]}"
}

check_version() {
  local v
  v=$("$BIN/containerd" --version) || die "failed to run $BIN/containerd (glibc too old?)"
  [[ $v == *" $WANT_VERSION"* ]] || die "containerd is '$v', expected $WANT_VERSION (NRI_CONTAINERD_VERSION)"
}

install_system_packages() {
  local missing=()
  command -v runc >/dev/null || missing+=(runc)
  [[ -x /bin/busybox ]] || missing+=(busybox-static)
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]} from the system's archive"
  local apt=(apt-get -q -y --no-install-recommends -o DPkg::Lock::Timeout=120)
  if ! "${apt[@]}" install "${missing[@]}" >&2; then
    "${apt[@]}" update >&2 || die "failed to run apt-get update"
    "${apt[@]}" install "${missing[@]}" >&2 || die "failed to install ${missing[*]}"
  fi
}

# Adds a blob (file $1, media type $2) to the layout $3 and prints its descriptor JSON.
add_blob() {
  local hex size
  hex=$(sha256sum "$1" | cut -d' ' -f1)
  size=$(stat -c %s "$1")
  mv "$1" "$3/blobs/sha256/$hex"
  printf '{"mediaType":"%s","digest":"sha256:%s","size":%s}' "$2" "$hex" "$size"
}

# Builds an OCI image-layout tarball $2 named $1 whose Cmd is the JSON array $3.
build_image() {
  local name=$1 out=$2 cmd=$3 arch work layer layer_hex cfg cfg_desc man_desc
  arch=$(dpkg --print-architecture)
  work=$(mktemp -d)
  mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/sys" "$work/rootfs/dev" \
    "$work/rootfs/tmp" "$work/rootfs/etc" "$work/oci/blobs/sha256"
  cp /bin/busybox "$work/rootfs/bin/busybox"
  local tool
  for tool in sh sleep cat ls echo true false ps kill env grep head tail wc id nproc seq yes; do
    ln -s busybox "$work/rootfs/bin/$tool"
  done
  layer="$work/layer.tar"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/rootfs" -cf "$layer" .
  layer_hex=$(sha256sum "$layer" | cut -d' ' -f1)
  local layer_desc
  layer_desc=$(add_blob "$layer" application/vnd.oci.image.layer.v1.tar "$work/oci")
  cfg="$work/config.json"
  printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$arch" "$cmd" "$layer_hex" >"$cfg"
  cfg_desc=$(add_blob "$cfg" application/vnd.oci.image.config.v1+json "$work/oci")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":%s,"layers":[%s]}' \
    "$cfg_desc" "$layer_desc" >"$work/manifest.json"
  man_desc=$(add_blob "$work/manifest.json" application/vnd.oci.image.manifest.v1+json "$work/oci")
  printf '{"schemaVersion":2,"manifests":[%s]}' \
    "${man_desc%\}},\"annotations\":{\"io.containerd.image.name\":\"$name\",\"org.opencontainers.image.ref.name\":\"${name##*:}\"},\"platform\":{\"architecture\":\"$arch\",\"os\":\"linux\"}}" \
    >"$work/oci/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$work/oci/oci-layout"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/oci" -cf "$out.new" .
  mv "$out.new" "$out"
  rm -rf "$work"
}

build_images() {
  mkdir -p "$IMAGES"
  [[ -s $IMAGES/pause.tar ]] || build_image localhost/pause:1 "$IMAGES/pause.tar" '["sleep","2147483647"]'
  [[ -s $IMAGES/busybox.tar ]] || build_image localhost/busybox:1 "$IMAGES/busybox.tar" '["sh"]'
}

cmd_fetch() {
  require_root
  mkdir -p "$CACHE"
  # One fetch at a time per cache (tests may start several instances in parallel).
  exec 9>"$CACHE/.lock"
  flock 9
  fetch_containerd
  check_version
  install_system_packages
  build_images
  exec 9>&-
}

# ---------------------------------------------------------------------------------------------
# check

require_root() { [[ $(id -u) == 0 ]] || die "must run as root (containerd, runc and cgroups need it)"; }

unavailable() {
  printf '%s\n' "$*"
  exit "$EXIT_UNAVAILABLE"
}

cmd_check() {
  [[ $(uname -s) == Linux ]] || unavailable "not Linux"
  [[ $(id -u) == 0 ]] || unavailable "not root (uid $(id -u)); a local containerd needs root"
  grep -qw cgroup /proc/filesystems || unavailable "kernel has no cgroup filesystem"
  awk '$3 ~ /^cgroup2?$/ { found = 1 } END { exit !found }' /proc/mounts ||
    unavailable "no cgroup filesystem mounted"
  local tool
  for tool in tar sha256sum flock setsid pgrep mountpoint dpkg; do
    command -v "$tool" >/dev/null || unavailable "missing tool: $tool"
  done
  if [[ ! -x $BIN/containerd ]]; then
    command -v apt-get >/dev/null || unavailable "containerd not cached in $CACHE and no apt-get to fetch it"
    mkdir -p "$CACHE"
    exec 9>"$CACHE/.lock"
    flock 9
    write_private_sources
    timeout 60 "${APT_PRIVATE[@]}" update >/dev/null 2>&1 ||
      unavailable "cannot reach Debian's $SUITE archive to fetch containerd (apt-get update failed)"
  fi
  if ! command -v runc >/dev/null || [[ ! -x /bin/busybox ]]; then
    command -v apt-get >/dev/null || unavailable "runc or busybox-static missing and no apt-get"
  fi
  printf 'ok\n'
}

# ---------------------------------------------------------------------------------------------
# start / restart

# Paths of a run directory (the first argument).
set_paths() {
  [[ -n ${1:-} ]] || die "missing <dir>"
  DIR=$(realpath -m -- "$1")
  [[ $DIR != / ]] || die "refusing to use / as <dir>"
  CONFIG="$DIR/config.toml"
  CRI_SOCKET="$DIR/run/containerd.sock"
  NRI_SOCKET="$DIR/nri.sock"
  LOG="$DIR/containerd.log"
  PIDFILE="$DIR/containerd.pid"
  ((${#CRI_SOCKET} < 100)) || die "<dir> is too long for a unix socket path: $CRI_SOCKET"
  # A run dir keeps using the cache (suite) it was started from, whatever the environment says now.
  local cache
  if [[ -e $DIR/$MARKER && -s $DIR/cache ]]; then
    cache=$(<"$DIR/cache")
    if [[ $cache == "$CACHE_BASE" || $cache == "$CACHE_BASE"-* ]] && [[ -x $cache/root/usr/bin/containerd ]]; then
      BIN="$cache/root/usr/bin"
      IMAGES="$cache/images"
    fi
  fi
}

daemon_pid() {
  local pid
  [[ -s $PIDFILE ]] || return 1
  pid=$(<"$PIDFILE")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$CONFIG" || return 1
  printf '%s\n' "$pid"
}

print_env() {
  printf 'DIR=%s\nCRI_SOCKET=%s\nNRI_SOCKET=%s\nLOG=%s\nPID=%s\n' \
    "$DIR" "$CRI_SOCKET" "$NRI_SOCKET" "$LOG" "$(daemon_pid || true)"
}

write_config() {
  if (($(containerd_major) >= 2)); then write_config_v3; else write_config_v2; fi
}

# The NRI section, the same keys in config versions 2 and 3 (appended to $CONFIG).
write_nri_section() {
  cat >>"$CONFIG" <<EOF
[plugins."io.containerd.nri.v1.nri"]
  disable = false
  disable_connections = false
  socket_path = "$NRI_SOCKET"
  plugin_path = "$DIR/plugins"
  plugin_config_path = "$DIR/conf.d"
  plugin_registration_timeout = "5s"
  plugin_request_timeout = "2s"
EOF
}

# containerd 1.x (config version 2): CRI with a local pause image, no CNI, native snapshotter, NRI on.
write_config_v2() {
  cat >"$CONFIG" <<EOF
version = 2
root = "$DIR/root"
state = "$DIR/run"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$CRI_SOCKET"
[debug]
  level = "$LOG_LEVEL"
[plugins."io.containerd.internal.v1.opt"]
  path = "$DIR/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/pause:1"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
EOF
  write_nri_section
}

# containerd 2.x (config version 3): CRI runtime and image settings live in their own plugins, the
# sandbox image is a pinned image, and the transfer service (ctr images import) must unpack into
# the native snapshotter.
write_config_v3() {
  local arch
  arch=$(dpkg --print-architecture)
  cat >"$CONFIG" <<EOF
version = 3
root = "$DIR/root"
state = "$DIR/run"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$CRI_SOCKET"
[debug]
  level = "$LOG_LEVEL"
[plugins."io.containerd.internal.v1.opt"]
  path = "$DIR/opt"
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "native"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "localhost/pause:1"
[plugins."io.containerd.cri.v1.runtime"]
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.transfer.v1.local"]
  [[plugins."io.containerd.transfer.v1.local".unpack_config]]
    platform = "linux/$arch"
    snapshotter = "native"
EOF
  write_nri_section
}

# Records the cgroup directories under <hierarchy>/$CGROUP_ROOT that exist before our pods do.
snapshot_cgroups() {
  local h
  for h in $(cgroup_hierarchies); do
    [[ -d $h/$CGROUP_ROOT ]] && find "$h/$CGROUP_ROOT" -type d
  done >"$DIR/cgroups.before" || true
}

cgroup_hierarchies() { awk '$3 ~ /^cgroup2?$/ { print $2 }' /proc/mounts; }

ctr_() { timeout 20 "$BIN/ctr" -a "$CRI_SOCKET" -n k8s.io "$@"; }

launch_daemon() {
  rm -f "$NRI_SOCKET"
  PATH="$BIN:$PATH" setsid "$BIN/containerd" --config "$CONFIG" </dev/null >>"$LOG" 2>&1 &
  local pid=$!
  printf '%s\n' "$pid" >"$PIDFILE"
  local deadline=$((SECONDS + START_TIMEOUT))
  until [[ -S $CRI_SOCKET && -S $NRI_SOCKET ]] && ctr_ version >/dev/null 2>&1; do
    # (Not daemon_pid: right after the fork the child may not have exec'd containerd yet.)
    kill -0 "$pid" 2>/dev/null || die "containerd exited during start; last lines of $LOG:
$(tail -n 5 "$LOG" | sed 's/^/  /')"
    ((SECONDS < deadline)) || die "containerd did not create $CRI_SOCKET and $NRI_SOCKET within ${START_TIMEOUT}s; see $LOG"
    sleep 0.1
  done
}

# EXIT trap of a failed or interrupted start: show the end of the log, then remove everything.
start_failed() {
  # A second Ctrl-C (or timeout(1) signalling the whole group) must not abort the cleanup.
  trap '' INT TERM
  if [[ -s $LOG ]]; then
    log "start failed; last lines of $LOG:"
    tail -n 20 "$LOG" >&2
  fi
  log "cleaning up $DIR (set NRI_CONTAINERD_KEEP_ON_FAILURE=1 to keep it)"
  [[ -n ${NRI_CONTAINERD_KEEP_ON_FAILURE:-} ]] || cmd_stop "$DIR" >&2 || true
}

cmd_start() {
  set_paths "$1"
  if daemon_pid >/dev/null; then
    print_env
    return 0
  fi
  # Start from this suite's cache, even in a previous <dir> of another suite.
  BIN="$CACHE/root/usr/bin"
  IMAGES="$CACHE/images"
  cmd_fetch
  if [[ -e $DIR && ! -e $DIR/$MARKER ]] && [[ -n $(ls -A "$DIR") ]]; then
    die "$DIR is not empty and was not made by this script"
  fi
  mkdir -p "$DIR"
  touch "$DIR/$MARKER"
  printf '%s\n' "$CACHE" >"$DIR/cache"
  STARTED=no
  trap 'if [[ $STARTED != yes ]]; then start_failed; fi' EXIT
  trap 'exit 130' INT TERM
  mkdir -p "$DIR/plugins" "$DIR/conf.d"
  chmod 0700 "$DIR"
  [[ -s $DIR/cgroups.before ]] || snapshot_cgroups
  write_config
  log "starting containerd in $DIR"
  launch_daemon
  local img
  for img in pause busybox; do
    ctr_ images import --snapshotter native "$IMAGES/$img.tar" >&2 || die "failed to import image $img"
  done
  STARTED=yes
  trap - EXIT INT TERM
  print_env
}

# Stops the daemon of $DIR (not its shims): SIGTERM, then SIGKILL after 10 s.
stop_daemon() {
  local pid i
  pid=$(daemon_pid) || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
}

cmd_restart() {
  set_paths "$1"
  [[ -e $DIR/$MARKER ]] || die "$DIR was not started by this script"
  stop_daemon
  log "restarting containerd in $DIR"
  launch_daemon
  print_env
}

cmd_status() {
  set_paths "$1"
  print_env
  if daemon_pid >/dev/null; then echo RUNNING=yes; else echo RUNNING=no; fi
}

# ---------------------------------------------------------------------------------------------
# stop

# Container and sandbox ids that have (or had) a shim bundle under $DIR.
task_ids() {
  local d
  for d in "$DIR"/run/io.containerd.runtime.v2.task/*/*/; do
    [[ -d $d ]] && basename "$d"
  done
  return 0
}

# Kills every process in cgroup directories named after our task ids (64 hex), in every hierarchy.
# One find per hierarchy (a find per id and hierarchy is slow on a loaded machine).
kill_task_processes() {
  local id h d pid names=()
  for id in "$@"; do
    [[ $id =~ ^[0-9a-f]{64}$ ]] || continue
    ((${#names[@]} == 0)) || names+=(-o)
    names+=(-name "$id")
  done
  ((${#names[@]} > 0)) || return 0
  for h in $(cgroup_hierarchies); do
    while IFS= read -r d; do
      while IFS= read -r pid; do
        kill -KILL "$pid" 2>/dev/null || true
      done < <(cat "$d/cgroup.procs" 2>/dev/null)
    done < <(find "$h" -maxdepth 6 -type d \( "${names[@]}" \) 2>/dev/null)
  done
}

# Pod UIDs this daemon ran (CRI logs `RunPodSandbox for &PodSandboxMetadata{Name:…,Uid:<uid>,…}`
# at info level), restricted to characters that are safe in a cgroup name.
our_pod_uids() {
  [[ -f $LOG ]] || return 0
  grep -o 'RunPodSandbox for &PodSandboxMetadata{[^}]*' "$LOG" | sed -n 's/.*,Uid:\([^,]*\),.*/\1/p' |
    grep -xE '[A-Za-z0-9_.-]+' | sort -u || true
}

# rmdir one cgroup dir; retries for 2 s while it still lists (dying) processes. 1 if it stays.
rm_cgroup_dir() {
  local try
  for ((try = 0; try < 20; try++)); do
    rmdir -- "$1" 2>/dev/null && return 0
    [[ -d $1 ]] || return 0
    # Empty of processes yet not removable: it has child cgroups (not ours) or is busy.
    [[ -n $(cat "$1/cgroup.procs" 2>/dev/null) ]] || return 1
    sleep 0.1
  done
  return 1
}

# Removes the pod cgroups of our pods (`…/pod<uid>` under $CGROUP_ROOT, children first; runc never
# removes them), then the empty QoS/top dirs ($CGROUP_ROOT, …/burstable, …/besteffort) that did not
# exist at start, unless another containerd from our cache is running (it may be using them).
remove_our_cgroups() {
  local h d uid uids=()
  mapfile -t uids < <(our_pod_uids)
  if ((${#uids[@]} > 0)); then
    local patterns=()
    for uid in "${uids[@]}"; do patterns+=(-e "/pod$uid/"); done
    for h in $(cgroup_hierarchies); do
      [[ -d $h/$CGROUP_ROOT ]] || continue
      while IFS= read -r d; do
        d=${d%/}
        rm_cgroup_dir "$d" || log "warning: could not remove cgroup $d"
      done < <(find "$h/$CGROUP_ROOT" -depth -maxdepth 3 -type d -printf '%p/\n' 2>/dev/null | grep -F "${patterns[@]}")
    done
  fi
  other_daemons_running && return 0
  [[ -f $DIR/cgroups.before ]] || return 0
  for h in $(cgroup_hierarchies); do
    [[ -d $h/$CGROUP_ROOT ]] || continue
    while IFS= read -r d; do
      grep -qxF -- "$d" "$DIR/cgroups.before" || rmdir -- "$d" 2>/dev/null || true
    done < <(find "$h/$CGROUP_ROOT" -depth -maxdepth 1 -type d)
  done
  return 0
}

# Whether the executable of process $1 is a containerd from one of our caches (any suite).
is_our_containerd() {
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  [[ $exe == "$CACHE_BASE/root/usr/bin/containerd" || $exe == "$CACHE_BASE"-*/root/usr/bin/containerd ]]
}

# Whether a containerd started from our caches runs for another run dir.
other_daemons_running() {
  local pid
  for pid in $(pgrep -x containerd || true); do
    is_our_containerd "$pid" || continue
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--config $CONFIG " && continue
    return 0
  done
  return 1
}

cmd_stop() {
  set_paths "$1"
  if [[ ! -e $DIR ]]; then return 0; fi
  [[ -e $DIR/$MARKER ]] || die "$DIR was not made by this script; refusing to delete it"
  local ids id pid
  mapfile -t ids < <(task_ids)
  if daemon_pid >/dev/null && [[ -x $BIN/ctr ]]; then
    # In parallel: each ctr call costs a process start, which adds up on a loaded machine. Wait
    # for these jobs only: after a failed start the daemon itself is a child of this shell.
    local jobs=()
    for id in $(ctr_ tasks ls -q 2>/dev/null); do
      ctr_ tasks kill -s SIGKILL "$id" >/dev/null 2>&1 &
      jobs+=("$!")
    done
    ((${#jobs[@]} == 0)) || wait "${jobs[@]}" || true
    jobs=()
    for id in $(ctr_ containers ls -q 2>/dev/null); do
      { ctr_ tasks rm -f "$id" || true; ctr_ containers rm "$id" || true; } >/dev/null 2>&1 &
      jobs+=("$!")
    done
    ((${#jobs[@]} == 0)) || wait "${jobs[@]}" || true
  fi
  stop_daemon
  kill_task_processes "${ids[@]}"
  # Shims name our socket on their command line; a daemon whose pidfile was lost names our config.
  for pid in $(pgrep -f -- "-address $CRI_SOCKET" || true) $(pgrep -f -- "--config $CONFIG" || true); do
    kill -KILL "$pid" 2>/dev/null || true
  done
  remove_our_cgroups
  # Shim sockets: /run/containerd/s/<sha256(address/namespace/id)> (containerd 1.7), and the
  # runc state of killed tasks: /run/containerd/runc/k8s.io/<id>.
  for id in "${ids[@]}"; do
    [[ $id =~ ^[0-9a-f]{64}$ ]] || continue
    rm -f "/run/containerd/s/$(printf '%s' "$CRI_SOCKET/k8s.io/$id" | sha256sum | cut -d' ' -f1)"
    rm -rf "/run/containerd/runc/k8s.io/$id"
  done
  local mp
  while IFS= read -r mp; do
    umount -l -- "$mp" 2>/dev/null || log "warning: could not unmount $mp"
  done < <(awk -v d="$DIR/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
  rm -rf -- "$DIR"
  log "stopped and removed $DIR"
}

# Every run dir of this script on the machine: those of running daemons started from our caches,
# and marked dirs named nri-ctrd* in the temp dir. For CI cleanup after a failed job.
cmd_stop_all() {
  local pid cfg d dirs=()
  for pid in $(pgrep -x containerd || true); do
    is_our_containerd "$pid" || continue
    cfg=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | sed -n '/^--config$/{n;p;q}')
    [[ -n $cfg && -e $(dirname "$cfg")/$MARKER ]] && dirs+=("$(dirname "$cfg")")
  done
  for d in "${TMPDIR:-/tmp}"/nri-ctrd*; do
    [[ -e $d/$MARKER ]] && dirs+=("$d")
  done
  ((${#dirs[@]} == 0)) && return 0
  local failed=0
  while IFS= read -r d; do
    (cmd_stop "$d") || failed=1
  done < <(printf '%s\n' "${dirs[@]}" | sort -u)
  return "$failed"
}

# ---------------------------------------------------------------------------------------------

main() {
  local cmd=${1:-}
  shift || true
  case $cmd in
  fetch) cmd_fetch ;;
  check) cmd_check ;;
  start) cmd_start "${1:-}" ;;
  restart) cmd_restart "${1:-}" ;;
  stop) cmd_stop "${1:-}" ;;
  status) cmd_status "${1:-}" ;;
  stop-all) cmd_stop_all ;;
  -h | --help | help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
  esac
}

main "$@"
