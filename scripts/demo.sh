#!/usr/bin/env bash
# attachd end to end: installs the dependencies, builds attachd and
# attachctl, starts attachd on a private socket, starts a real OCI
# container with runc (a busybox root file system), registers the container
# with attachd by pid and start time, and runs commands inside it.
#
# Usage: sudo bash scripts/demo.sh
#
# Everything it starts lives under one temporary directory (attachd's
# socket and log, the bundle, runc's state) and is stopped and removed on
# every exit path.  It never touches /run/attachd, so it does not collide
# with an attachd service running on the same machine.  Exits non-zero if
# any step fails.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

CONTAINER_ID=attachd-demo
CONTAINER_NAME=demo

require_root scripts/demo.sh
cd "$ATTACHD_REPO_ROOT"

work=""
attachd_pid=""
runc_started=false

# Stops whatever was started, in reverse order, and removes the temporary
# directory.  Runs on every exit; never fails.
cleanup() {
  local status=$?
  trap - EXIT INT TERM HUP
  set +e
  if [[ $status -ne 0 ]]; then
    error "the demo failed (exit status $status)"
    if [[ -n "$work" && -s "$work/attachd.log" ]]; then
      echo "attachd's log:" >&2
      indent <"$work/attachd.log" >&2
    fi
  fi
  echo
  step "Cleaning up"
  if [[ -n "$attachd_pid" ]] && kill -0 "$attachd_pid" 2>/dev/null; then
    info "stopping attachd (pid $attachd_pid) with SIGTERM"
    kill -TERM "$attachd_pid"
    for _ in $(seq 100); do
      kill -0 "$attachd_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$attachd_pid" 2>/dev/null; then
      error "attachd did not stop within 10 s; sending SIGKILL"
      kill -KILL "$attachd_pid"
    fi
    wait "$attachd_pid" 2>/dev/null
  fi
  if $runc_started; then
    info "removing container $CONTAINER_ID"
    runc --root "$work/runc" kill "$CONTAINER_ID" KILL >/dev/null 2>&1
    runc --root "$work/runc" delete -f "$CONTAINER_ID" >/dev/null 2>&1 ||
      error "runc delete -f $CONTAINER_ID failed"
  fi
  if [[ -n "$work" ]]; then
    info "removing $work"
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

step "Installing dependencies (scripts/install-deps.sh)"
bash scripts/install-deps.sh

step "Building attachd and attachctl (bazel build //daemon:attachd //client:attachctl)"
bazel build //daemon:attachd //client:attachctl
bazel_bin="$(bazel info bazel-bin 2>/dev/null)"
ATTACHD="$bazel_bin/daemon/attachd"
ATTACHCTL="$bazel_bin/client/attachctl"
[[ -x "$ATTACHD" && -x "$ATTACHCTL" ]] ||
  die "the build did not produce $ATTACHD and $ATTACHCTL"

work="$(mktemp -d /tmp/attachd-demo.XXXXXX)"
socket="$work/attachd.sock"
# Every attachctl call below goes to this demo's own daemon.
attachctl() {
  "$ATTACHCTL" --socket "$socket" "$@"
}

step "Starting attachd on $socket"
"$ATTACHD" --socket "$socket" </dev/null >"$work/attachd.log" 2>&1 &
attachd_pid=$!
for _ in $(seq 100); do
  if ! kill -0 "$attachd_pid" 2>/dev/null; then
    wait "$attachd_pid" || true
    attachd_pid=""
    die "attachd exited during startup"
  fi
  if [[ -S "$socket" ]] && attachctl ls >/dev/null 2>&1; then
    break
  fi
  sleep 0.1
done
attachctl ls >/dev/null || die "attachd did not answer on $socket within 10 s"
info "attachd is running (pid $attachd_pid); it says:"
indent <"$work/attachd.log"

step "Building a busybox root file system"
bundle="$work/bundle"
rootfs="$bundle/rootfs"
mkdir -p "$rootfs"/{bin,dev,etc,proc,root,sys,tmp}
cp /bin/busybox "$rootfs/bin/busybox"
applets=0
for applet in $("$rootfs/bin/busybox" --list); do
  if [[ "$applet" != busybox && ! -e "$rootfs/bin/$applet" ]]; then
    ln -s busybox "$rootfs/bin/$applet"
    applets=$((applets + 1))
  fi
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
echo 'root:x:0:' >"$rootfs/etc/group"
info "$rootfs: /bin/busybox (static) and $applets applet links"

step "Making an OCI bundle (runc spec; terminal false, sleep, hostname demo)"
runc spec --bundle "$bundle"
"$(python3_path)" - "$bundle/config.json" <<'PYTHON'
import json
import sys

path = sys.argv[1]
with open(path) as f:
    config = json.load(f)
config["process"]["terminal"] = False
config["process"]["args"] = ["/bin/sleep", "1000000"]
config["hostname"] = "demo"
with open(path, "w") as f:
    json.dump(config, f, indent=2)
PYTHON
info "$bundle/config.json: process.args /bin/sleep 1000000, hostname demo"

step "Starting the container (runc run -d $CONTAINER_ID)"
mkdir -p "$work/runc"
# With -d and no terminal runc hands its own stdio to the container;
# redirecting all three keeps this script from waiting on them.
runc_started=true
runc --root "$work/runc" run -d --bundle "$bundle" "$CONTAINER_ID" \
  </dev/null >"$work/runc.log" 2>&1 || {
  indent <"$work/runc.log" >&2
  die "runc run failed"
}
container_pid="$(runc --root "$work/runc" state "$CONTAINER_ID" |
  "$(python3_path)" -c 'import json, sys; print(json.load(sys.stdin)["pid"])')"
[[ "$container_pid" =~ ^[0-9]+$ && "$container_pid" -gt 0 ]] ||
  die "runc state gave no pid for $CONTAINER_ID"
# Field 22 of /proc/PID/stat is the start time.  Field 2, the command name,
# is in parentheses and may hold spaces or ')': count fields after the last
# ')', where field 3 comes first.
stat="$(</proc/"$container_pid"/stat)"
read -r -a after_name <<<"${stat##*)}"
start_time="${after_name[22 - 3]}"
[[ "$start_time" =~ ^[0-9]+$ ]] || die "cannot read the start time of $container_pid"
info "container process: pid $container_pid, start time $start_time"

step "Registering it: attachctl register $CONTAINER_NAME --pid $container_pid --start-time $start_time"
attachctl register "$CONTAINER_NAME" --pid "$container_pid" \
  --start-time "$start_time" | indent

step "Listing containers: attachctl ls"
attachctl ls | indent

step "Running a command inside: attachctl exec $CONTAINER_NAME -- sh -c '...'"
script='echo hello from $(hostname); cat /proc/self/status | grep NSpid; ls /'
info "sh -c '$script'"
output="$(attachctl exec "$CONTAINER_NAME" -- sh -c "$script")"
indent <<<"$output"
grep -qx 'hello from demo' <<<"$output" ||
  die "expected 'hello from demo' from inside the container"
# The container's /proc belongs to its pid namespace: /proc/self resolves
# there only for a process of that namespace, and NSpid then shows the one
# pid it has there.
grep -Eq '^NSpid:[[:space:]]+[0-9]+$' <<<"$output" ||
  die "expected the command to run in the container's pid namespace"

step "Piping stdin into the container: echo piped | attachctl exec -i $CONTAINER_NAME -- cat"
output="$(echo piped | attachctl exec -i "$CONTAINER_NAME" -- cat)"
indent <<<"$output"
[[ "$output" == piped ]] || die "expected 'piped' back from cat"

step "The command's exit status comes back: attachctl exec $CONTAINER_NAME -- sh -c 'exit 7'"
status=0
attachctl exec "$CONTAINER_NAME" -- sh -c 'exit 7' || status=$?
info "attachctl exited with $status"
[[ $status -eq 7 ]] || die "expected exit status 7"

step "attachd's log"
indent <"$work/attachd.log"

echo
echo "The demo worked: attachd ran commands inside a runc container it did not start."
