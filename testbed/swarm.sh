#!/usr/bin/env bash
# A real multi-node Docker Swarm on this one machine, for tests, the demo and benchmarks.
#
# Each node is one more dockerd in its own network namespace (and its own UTS namespace, so its
# own hostname), joined by veth pairs to the host bridge specctl-sw0 (10.231.0.1/24):
#
#   m1  manager  10.231.0.11      db=true  edge=true  gpu=false zone=a
#   w1  worker   10.231.0.12      db=false edge=false gpu=true  zone=a
#   w2  worker   10.231.0.13      db=false edge=false gpu=false zone=b
#   wK  worker   10.231.0.(11+K)  db=false edge=false gpu=false zone=a (K odd) or b (K even)
#
# Node X's own daemon: DOCKER_HOST=unix:///run/specctl-swarm/X.sock (m1 is the one to deploy to).
# edge: runs the proxy with host-mode published ports (reach them at the node's address);
# db: keeps stateful services (their volumes live on that node); gpu: the ML service; zone: for
# `--placement-pref spread=node.labels.zone`. Each node's hostname is its name.
#
# Each daemon keeps the host's mount namespace (so `nsenter`, not `ip netns exec`, which remounts
# /sys: "Devices cgroup isn't mounted"); its docker0, docker_gwbridge and iptables rules are in the
# node's own network namespace and never meet the host engine's. The host only gets the bridge,
# two ACCEPT rules in DOCKER-USER and a MASQUERADE for 10.231.0.0/24 (all commented
# specctl-swarm): the nodes reach each other (2377/tcp, 7946/tcp+udp, 4789/udp) and get out like
# real machines, so a registry look-up fails at once ("no such host") instead of timing out.
#
# What deploy code must know (all tried on this bed):
# - No IPVS in this kernel ("Could not get ipvs family information from the kernel" in the node
#   logs): a service VIP resolves but refuses connections, and an ingress-published port answers
#   on no node. Use endpoint_mode dnsrr and `mode: host` ports. With dnsrr, SERVICE and
#   tasks.SERVICE (in a stack also the short name) resolve to every task's overlay address
#   (10.232.x.y, from the pool given to `swarm init`).
# - A host-mode port answers at its node's address (from the host: http://10.231.0.11:PORT), not
#   on the host's 127.0.0.1. One node cannot hold one host port twice: an update with
#   --update-order start-first stays pending ("host-mode port already in use on 2 nodes").
# - No registry: `load` puts images on the nodes; each task start tries a pull first, fails at
#   once and runs the local copy. `docker service create` and `docker stack deploy` warn that the
#   digest could not be recorded (pass --no-resolve-image / --resolve-image never to skip that).
#   `docker stack deploy` works (overlay network STACK_default, services STACK_NAME).
# - A stopped worker daemon is Down in `docker node ls` about 8 s after it exits (the default
#   5 s dispatcher heartbeat) and Ready about 1 s after it starts again. After the manager's
#   daemon restarts (stop-node m1; start-node m1), its DNS misses the workers' tasks for about
#   60 s: the workers rejoin its gossip only that often. `up` starts the manager first for this.
#
# Usage (as root):
#   testbed/swarm.sh up [N]            N nodes (1-9, default 3): m1 + workers w1..w(N-1); idempotent
#   testbed/swarm.sh load IMAGE...     copy images from the host engine into every node
#   testbed/swarm.sh down [--wipe]     stop the nodes, remove the network (--wipe: data roots too)
#   testbed/swarm.sh status            daemons and nodes; exit 0 only when every node is Ready
#   testbed/swarm.sh stop-node NODE    stop one node's daemon (for fault tests); start-node NODE
#   testbed/swarm.sh layout [N]        name, role, address, DOCKER_HOST, labels (tab-separated)
#   testbed/swarm.sh env               `export DOCKER_HOST=…` for the manager
#
# The host engine (/var/run/docker.sock) is never touched except to read images for `load`.
# Daemons are stopped by their pid files, never by name. Files: data roots in
# /var/lib/specctl-swarm/NODE (kept by `down`: images stay loaded), sockets, pid files and exec
# roots in /run/specctl-swarm, logs in /var/log/specctl-swarm/NODE.log.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
readonly BRIDGE=specctl-sw0
readonly NET=10.231.0 # a /24: the bridge is .1, node i is .(11+i)
readonly POOL=10.232.0.0/16 # overlay subnets (swarm's default 10.0.0.0/8 would cover NET)
readonly RUN=/run/specctl-swarm LIB=/var/lib/specctl-swarm LOGS=/var/log/specctl-swarm
# shellcheck disable=SC2016 # a Go template, not a shell expansion
readonly LABELS='{{range $k, $v := .Spec.Labels}}{{$k}}={{$v}} {{end}}' # `node inspect -f`
readonly STOP_TIMEOUT=${SPECCTL_SWARM_STOP_TIMEOUT:-30} # seconds before SIGKILL
readonly READY_TIMEOUT=${SPECCTL_SWARM_READY_TIMEOUT:-90}

log() { printf 'swarm: %s\n' "$*" >&2; }
die() {
  printf 'swarm: error: %s\n' "$1" >&2
  [ $# -lt 2 ] || printf 'hint: %s\n' "$2" >&2
  exit 1
}
usage() {
  sed -n '/^# Usage/,/^# The host engine/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# --- the layout: one source of truth for names, addresses and labels ---------------------------

node_names() { # N -> m1 w1 … w(N-1)
  local n=$1 i
  echo m1
  for ((i = 1; i < n; i++)); do echo "w$i"; done
}
node_index() {
  case $1 in
    m1) echo 0 ;;
    w[1-8]) echo "${1#w}" ;;
    *) die "$1: not a node name (m1, w1 … w8)" ;;
  esac
}
node_role() { if [ "$1" = m1 ]; then echo manager; else echo worker; fi; }
node_addr() { echo "$NET.$((11 + $(node_index "$1")))"; }
node_host() { echo "unix://$RUN/$1.sock"; }
node_labels() {
  case $1 in
    m1) echo "db=true edge=true gpu=false zone=a" ;;
    w1) echo "db=false edge=false gpu=true zone=a" ;;
    *)
      local zone=b
      [ $(($(node_index "$1") % 2)) = 0 ] || zone=a
      echo "db=false edge=false gpu=false zone=$zone"
      ;;
  esac
}
netns_of() { echo "specctl-$1"; }
veth_of() { echo "specctl-$1"; } # the host end; the node end is eth0 inside the namespace
dk() { # dk NODE docker-args…
  local node=$1
  shift
  docker -H "$(node_host "$node")" "$@"
}

check_size() {
  [[ $1 =~ ^[1-9]$ ]] || die "N must be 1 to 9 (got '$1')"
}
current_size() { # the N of the last `up`, or 3
  local size
  size=$(cat "$RUN/size" 2>/dev/null || echo 3)
  [[ $size =~ ^[1-9]$ ]] || size=3
  echo "$size"
}
found_nodes() { # every node with a pid file or a namespace, whatever the size
  {
    local f
    for f in "$RUN"/*.pid; do
      [ -e "$f" ] && basename "$f" .pid
    done
    ip netns list 2>/dev/null | awk '{ print $1 }' | sed -n 's/^specctl-\([mw][0-9]\)$/\1/p'
  } | sort -u
}

# --- prerequisites -----------------------------------------------------------------------------

require_root() { [ "$(id -u)" = 0 ] || die "must run as root (network namespaces, dockerd)"; }

ensure_tools() {
  local missing=() tool
  for tool in ip:iproute2 iptables:iptables nsenter:util-linux unshare:util-linux \
    setsid:util-linux flock:util-linux; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} from Debian"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    bash "$HERE/engine.sh"
  fi
}

lock() { # one `up`/`down`/`load` at a time
  mkdir -p "$RUN"
  exec 9>"$RUN/lock"
  flock -w 600 9 || die "another testbed/swarm.sh holds $RUN/lock"
}

# --- network -----------------------------------------------------------------------------------

ensure_bridge() {
  local taken
  taken=$(ip -o -4 addr show to "$NET.0/24" | awk -v b="$BRIDGE" '$2 != b { print $2, $4 }')
  [ -z "$taken" ] || die "$NET.0/24 is already in use on this host: $taken" \
    "change NET (and POOL) at the top of testbed/swarm.sh"
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
  ip addr replace "$NET.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

# With br_netfilter, frames between the nodes cross the host's FORWARD chain, whose policy the host
# engine set to DROP; DOCKER-USER is the chain the host engine leaves to us. The nodes also get out
# through the host (masqueraded) as real machines would: a registry look-up then fails at once,
# as on the host, instead of waiting for DNS timeouts.
readonly TAG=(-m comment --comment specctl-swarm) # every rule carries it
readonly RULE_OUT=(-i "$BRIDGE" "${TAG[@]}" -j ACCEPT) # node to node, node to anywhere
readonly RULE_BACK=(-o "$BRIDGE" -m conntrack --ctstate "RELATED,ESTABLISHED" "${TAG[@]}" -j ACCEPT)
readonly RULE_NAT=(-s "$NET.0/24" ! -o "$BRIDGE" "${TAG[@]}" -j MASQUERADE)

ensure_rule() { # TABLE CHAIN RULE…
  local table=$1 chain=$2
  shift 2
  iptables -t "$table" -C "$chain" "$@" 2>/dev/null || iptables -t "$table" -I "$chain" 1 "$@"
}
delete_rule() { # TABLE CHAIN RULE…: every copy
  local table=$1 chain=$2
  shift 2
  while iptables -t "$table" -D "$chain" "$@" 2>/dev/null; do :; done
}

ensure_rules() {
  local chain=FORWARD
  iptables -n -L DOCKER-USER >/dev/null 2>&1 && chain=DOCKER-USER
  ensure_rule filter "$chain" "${RULE_BACK[@]}"
  ensure_rule filter "$chain" "${RULE_OUT[@]}"
  ensure_rule nat POSTROUTING "${RULE_NAT[@]}"
}

remove_rules() {
  local chain
  for chain in DOCKER-USER FORWARD; do
    delete_rule filter "$chain" "${RULE_OUT[@]}"
    delete_rule filter "$chain" "${RULE_BACK[@]}"
  done
  delete_rule nat POSTROUTING "${RULE_NAT[@]}"
}

ensure_netns() {
  local node=$1 ns veth addr
  ns=$(netns_of "$node") veth=$(veth_of "$node") addr=$(node_addr "$node")
  [ -e "/run/netns/$ns" ] || ip netns add "$ns"
  ip link show "$veth" >/dev/null 2>&1 || ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set "$veth" master "$BRIDGE" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr replace "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route replace default via "$NET.1"
}

remove_netns() {
  local node=$1
  ip link del "$(veth_of "$node")" 2>/dev/null || true
  ip netns del "$(netns_of "$node")" 2>/dev/null || true
}

# --- daemons -----------------------------------------------------------------------------------

# Our dockerd for NODE, by its pid file; the command line must name NODE's socket (pids are reused).
daemon_pid() {
  local node=$1 pid
  pid=$(cat "$RUN/$node.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$(node_host "$node") " || return 1
  echo "$pid"
}

daemon_answers() {
  timeout 10 docker -H "$(node_host "$1")" version -f '{{.Server.Version}}' >/dev/null 2>&1
}

declare -A LAUNCHED=()
LOAD_TMP=

launch_daemon() {
  local node=$1 log_file=$LOGS/$1.log
  if daemon_pid "$node" >/dev/null; then return 0; fi
  rm -f "$RUN/$node.pid"
  mkdir -p "$LIB/$node" "$RUN/$node-exec" "$LOGS"
  printf '=== %s swarm.sh: starting dockerd for %s\n' "$(date -Is)" "$node" >>"$log_file"
  # nsenter, not `ip netns exec`: that one also remounts /sys, and dockerd then fails with
  # "Devices cgroup isn't mounted". The daemon keeps the host's mount namespace.
  # Own containerd namespaces: should the host run a system containerd, the nodes share it.
  # shellcheck disable=SC2016 # $0 and $@ belong to the inner shell
  setsid nsenter --net="/run/netns/$(netns_of "$node")" \
    unshare --uts -- sh -c 'echo "$0" >/proc/sys/kernel/hostname && exec "$@"' "$node" \
    dockerd \
    --host "$(node_host "$node")" \
    --data-root "$LIB/$node" \
    --exec-root "$RUN/$node-exec" \
    --pidfile "$RUN/$node.pid" \
    --containerd-namespace "specctl-$node" \
    --containerd-plugins-namespace "specctl-$node-plugins" \
    --cgroup-parent "/specctl-swarm/$node" \
    --label "specctl.swarm.node=$node" \
    >>"$log_file" 2>&1 </dev/null 9>&- &
  LAUNCHED[$node]=$!
}

wait_daemon() {
  local node=$1 deadline=$((SECONDS + 60)) launched=${LAUNCHED[$1]:-}
  until daemon_answers "$node"; do
    if [ -n "$launched" ] && ! kill -0 "$launched" 2>/dev/null; then
      tail -n 15 "$LOGS/$node.log" >&2
      die "$node: dockerd exited at start" "see $LOGS/$node.log"
    fi
    [ $SECONDS -lt $deadline ] ||
      die "$node: dockerd does not answer after 60s" "see $LOGS/$node.log"
    sleep 0.2
  done
  local name
  name=$(dk "$node" info -f '{{.Name}}')
  [ "$name" = "$node" ] || die "$node: the daemon's hostname is '$name', not '$node'"
}

pid_alive() { [ -d "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# SIGTERM to every daemon named, wait for them all, SIGKILL what is left after STOP_TIMEOUT.
stop_daemons() {
  local node pid pids=() names=()
  for node in "$@"; do
    pid=$(daemon_pid "$node") || continue
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid") names+=("$node")
  done
  local deadline=$((SECONDS + STOP_TIMEOUT)) i left
  while :; do
    left=0
    for pid in "${pids[@]}"; do pid_alive "$pid" && left=1; done
    if [ $left = 0 ] || [ $SECONDS -ge $deadline ]; then break; fi
    sleep 0.2
  done
  for i in "${!pids[@]}"; do
    if pid_alive "${pids[$i]}"; then
      log "${names[$i]}: dockerd (pid ${pids[$i]}) still running after ${STOP_TIMEOUT}s; SIGKILL"
      kill -KILL "${pids[$i]}" 2>/dev/null || true
    fi
  done
  for node in "$@"; do leftovers "$node"; done
  for node in "$@"; do rm -f "$RUN/$node.pid"; done
}

# kill -KILL the pid in FILE when /proc/PID/WHAT (cmdline, cgroup) mentions PATTERN: a pid file
# may be stale, and its pid taken by another process since.
kill_pid_file() {
  local file=$1 what=$2 pattern=$3 pid
  pid=$(cat "$file" 2>/dev/null) || return 0
  [[ $pid =~ ^[0-9]+$ ]] && pid_alive "$pid" || return 0
  if tr '\0' ' ' 2>/dev/null <"/proc/$pid/$what" | grep -qF -- "$pattern"; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

# What a daemon that died (SIGKILL, crash) leaves behind: its containers (their init.pid, in the
# node's cgroup), its containerd (its pid file), the containerd shims (whatever still runs in the
# node's network namespace: nothing else lives there) and mounts. Nothing after a clean stop.
leftovers() {
  local node=$1 exec_root=$RUN/$1-exec f pid ns
  ns=$(netns_of "$node")
  for f in "$exec_root"/containerd/daemon/io.containerd.runtime.v2.task/*/*/init.pid; do
    [ -e "$f" ] && kill_pid_file "$f" cgroup "/specctl-swarm/$node/"
  done
  kill_pid_file "$exec_root/containerd/containerd.pid" cmdline "$exec_root/"
  if [ -e "/run/netns/$ns" ]; then
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  fi
  unmount_under "$exec_root"
  unmount_under "$LIB/$node"
}

unmount_under() { # unmount everything mounted at or below $1, deepest first
  local m
  awk -v r="$1" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do
      umount -l "$m" 2>/dev/null || true
    done
}

# --- swarm -------------------------------------------------------------------------------------

swarm_state() { dk "$1" info -f '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown; }
node_id() { dk "$1" info -f '{{.Swarm.NodeID}}'; }

ensure_manager() {
  local state control addr
  addr=$(node_addr m1)
  state=$(swarm_state m1)
  if [ "$state" = pending ]; then # a restarted manager comes back by itself
    local deadline=$((SECONDS + 20))
    while [ "$state" = pending ] && [ $SECONDS -lt $deadline ]; do
      sleep 0.5
      state=$(swarm_state m1)
    done
  fi
  control=$(dk m1 info -f '{{.Swarm.ControlAvailable}}')
  if [ "$state" = active ] && [ "$control" = true ]; then return 0; fi
  if [ "$state" != inactive ]; then
    log "m1: swarm state '$state' (manager: $control); leaving it and starting a new swarm"
    dk m1 swarm leave --force >/dev/null
  fi
  log "m1: swarm init (advertise $addr, overlay pool $POOL)"
  dk m1 swarm init --advertise-addr "$addr" --listen-addr "$addr:2377" \
    --default-addr-pool "$POOL" --default-addr-pool-mask-length 24 >/dev/null
}

ensure_worker() {
  local node=$1 id state addr deadline=$((SECONDS + 20))
  addr=$(node_addr "$node")
  state=$(swarm_state "$node")
  id=$(node_id "$node")
  # A member that restarted reconnects by itself (pending for a moment); one the manager does not
  # know (removed by `up` with a smaller N, or from a manager since wiped) must join again.
  if [ -n "$id" ] && dk m1 node inspect "$id" >/dev/null 2>&1; then
    while [ "$state" = pending ] && [ $SECONDS -lt $deadline ]; do
      sleep 0.5
      state=$(swarm_state "$node")
    done
    [ "$state" != active ] || return 0
  fi
  local attempt token out
  token=$(dk m1 swarm join-token -q worker)
  for attempt in 1 2; do
    if [ "$(swarm_state "$node")" != inactive ]; then
      dk "$node" swarm leave --force >/dev/null 2>&1 || true
    fi
    log "$node: swarm join ($addr → $(node_addr m1):2377)"
    if out=$(dk "$node" swarm join --token "$token" --advertise-addr "$addr" \
      --listen-addr "$addr:2377" "$(node_addr m1):2377" 2>&1); then
      return 0
    fi
    log "$node: join attempt $attempt failed: $out"
  done
  die "$node: cannot join the swarm" "see $LOGS/$node.log and $LOGS/m1.log"
}

wait_gossip() { # the manager's gossip port accepts connections
  local addr deadline=$((SECONDS + 30))
  addr=$(node_addr m1)
  until timeout 1 bash -c "exec 3<>/dev/tcp/$addr/7946" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || die "m1: gossip port $addr:7946 closed after 30s" \
      "see $LOGS/m1.log"
    sleep 0.1
  done
}

wait_ready() { # every node named is Ready in the manager's view
  local node status deadline=$((SECONDS + READY_TIMEOUT)) waiting
  declare -A id_of=()
  for node in "$@"; do id_of[$node]=$(node_id "$node"); done
  while :; do
    waiting=()
    for node in "$@"; do
      status=$(dk m1 node inspect -f '{{.Status.State}}' "${id_of[$node]}" 2>/dev/null) ||
        status=unknown
      [ "$status" = ready ] || waiting+=("$node=$status")
    done
    [ ${#waiting[@]} -gt 0 ] || return 0
    [ $SECONDS -lt $deadline ] || die "not Ready after ${READY_TIMEOUT}s: ${waiting[*]}" \
      "see $LOGS/NODE.log"
    sleep 0.5
  done
}

ensure_labels() {
  local node=$1 id want have args=() label key
  id=$(node_id "$node")
  want=$(node_labels "$node")
  have=$(dk m1 node inspect -f "$LABELS" "$id")
  [ "$want" = "${have% }" ] && return 0
  for label in $have; do
    key=${label%%=*}
    [[ " $want " == *" $key="* ]] || args+=(--label-rm "$key")
  done
  for label in $want; do args+=(--label-add "$label"); done
  dk m1 node update "${args[@]}" "$id" >/dev/null
}

remove_stale_nodes() { # entries of earlier joins, wiped nodes, nodes beyond N
  local keep=" $* " id
  for id in $(dk m1 node ls -q); do
    [[ $keep == *" $id "* ]] && continue
    log "removing stale node entry $id ($(dk m1 node inspect -f '{{.Description.Hostname}}' "$id"))"
    dk m1 node rm --force "$id" >/dev/null
  done
}

# --- commands ----------------------------------------------------------------------------------

cmd_up() {
  local size=${1:-3} start node nodes extra=()
  check_size "$size"
  start=$(now)
  ensure_tools
  lock
  mapfile -t nodes < <(node_names "$size")
  for node in $(found_nodes); do
    [[ " ${nodes[*]} " == *" $node "* ]] || extra+=("$node")
  done
  if [ ${#extra[@]} -gt 0 ]; then
    log "removing nodes beyond $size: ${extra[*]}"
    for node in "${extra[@]}"; do # out of the swarm, so that it joins afresh when it comes back
      if daemon_answers "$node"; then dk "$node" swarm leave --force >/dev/null 2>&1 || true; fi
    done
    stop_daemons "${extra[@]}"
    for node in "${extra[@]}"; do remove_netns "$node"; done
  fi
  mkdir -p "$RUN" "$LIB" "$LOGS"
  echo "$size" >"$RUN/size"
  ensure_bridge
  ensure_rules
  for node in "${nodes[@]}"; do ensure_netns "$node"; done
  # The manager first: a worker that starts before the manager's gossip port (7946) is open
  # retries only after 60 s ("Error in joining gossip cluster … join will be retried in
  # background"), and until then the manager's DNS misses that worker's tasks.
  launch_daemon m1
  wait_daemon m1
  ensure_manager
  wait_gossip
  for node in "${nodes[@]:1}"; do launch_daemon "$node"; done
  for node in "${nodes[@]:1}"; do wait_daemon "$node"; done
  for node in "${nodes[@]:1}"; do ensure_worker "$node"; done
  wait_ready "${nodes[@]}"
  local ids=()
  for node in "${nodes[@]}"; do ids+=("$(node_id "$node")"); done
  remove_stale_nodes "${ids[@]}"
  for node in "${nodes[@]}"; do ensure_labels "$node"; done
  log "up: ${#nodes[@]} nodes Ready (${nodes[*]}) in $(since "$start")"
  echo "DOCKER_HOST=$(node_host m1)"
}

cmd_down() {
  local wipe=0 node nodes start
  case ${1:-} in
    "") ;;
    --wipe) wipe=1 ;;
    *) usage ;;
  esac
  require_root
  start=$(now)
  lock
  mapfile -t nodes < <({ found_nodes; node_names "$(current_size)"; } | sort -u)
  stop_daemons "${nodes[@]}"
  for node in "${nodes[@]}"; do
    remove_netns "$node"
    rm -rf "${RUN:?}/$node-exec" "$RUN/$node.sock"
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  remove_rules
  rm -f "$RUN/size"
  if [ $wipe = 1 ] && [ -d "$LIB" ]; then
    unmount_under "$LIB"
    rm -rf "${LIB:?}"
    log "down: data roots wiped ($LIB)"
  fi
  log "down in $(since "$start")"
}

cmd_load() {
  [ $# -gt 0 ] || usage
  require_root
  local images=("$@") ids=() start node nodes i id have tmp
  start=$(now)
  lock
  mapfile -t nodes < <(node_names "$(current_size)")
  for node in "${nodes[@]}"; do
    daemon_answers "$node" || die "$node: daemon not running" "testbed/swarm.sh up"
  done
  for i in "${!images[@]}"; do
    id=$(docker image inspect -f '{{.Id}}' "${images[$i]}" 2>/dev/null) ||
      die "${images[$i]}: not on the host engine" "bash testbed/images.sh (or build/tag it there)"
    ids+=("$id")
  done
  # Per node, the images it lacks (indexes into images); one it has under another name is tagged.
  declare -A lacks=()
  for node in "${nodes[@]}"; do
    for i in "${!images[@]}"; do
      have=$(dk "$node" image inspect -f '{{.Id}}' "${images[$i]}" 2>/dev/null || true)
      if [ "$have" = "${ids[$i]}" ]; then
        continue
      elif dk "$node" image inspect "${ids[$i]}" >/dev/null 2>&1; then
        dk "$node" tag "${ids[$i]}" "${images[$i]}"
        log "$node: tagged ${images[$i]} (it had ${ids[$i]:7:12})"
      else
        lacks[$node]+="$i "
      fi
    done
  done
  if [ ${#lacks[@]} -eq 0 ]; then
    log "load: every node has ${images[*]}"
    return 0
  fi
  # One archive per distinct set of missing images (usually one for all nodes): images that
  # share layers (every testbed image shares the base) are saved faster together.
  rm -rf "$LIB"/.load.* # left by a load that was killed
  tmp=$(mktemp -d "$LIB/.load.XXXXXX")
  LOAD_TMP=$tmp
  trap 'rm -rf "$LOAD_TMP"' EXIT
  declare -A archive=()
  local set names
  for node in "${!lacks[@]}"; do
    set=${lacks[$node]}
    [ -z "${archive[$set]:-}" ] || continue
    archive[$set]=$tmp/${#archive[@]}.tar
    names=()
    for i in $set; do names+=("${images[$i]}"); done
    docker save -o "${archive[$set]}" "${names[@]}"
  done
  log "saved from the host engine in $(since "$start")"
  declare -A loading=()
  for node in "${!lacks[@]}"; do
    (
      t=$(now) names=()
      for i in ${lacks[$node]}; do names+=("${images[$i]}"); done
      dk "$node" load -q -i "${archive[${lacks[$node]}]}" >/dev/null
      log "$node: loaded ${names[*]} in $(since "$t")"
    ) &
    loading[$node]=$!
  done
  local failed=()
  for node in "${!loading[@]}"; do wait "${loading[$node]}" || failed+=("$node"); done
  [ ${#failed[@]} -eq 0 ] || die "load failed on ${failed[*]}"
  rm -rf "$tmp"
  log "load: done in $(since "$start")"
}

cmd_status() {
  local node size pid state name ok=0 nodes
  size=$(current_size)
  mapfile -t nodes < <({ found_nodes; node_names "$size"; } | sort -u)
  printf '%-4s %-8s %-12s %-8s %-10s %s\n' NODE ROLE ADDRESS PID SWARM HOSTNAME
  for node in "${nodes[@]}"; do
    pid=$(daemon_pid "$node" || echo -) state=- name=-
    if [ "$pid" != - ] && daemon_answers "$node"; then
      state=$(swarm_state "$node") name=$(dk "$node" info -f '{{.Name}}')
    else
      ok=1
    fi
    printf '%-4s %-8s %-12s %-8s %-10s %s\n' "$node" "$(node_role "$node")" "$(node_addr "$node")" \
      "$pid" "$state" "$name"
  done
  if daemon_answers m1 && [ "$(swarm_state m1)" = active ]; then
    local format='{{.Hostname}}|{{.Status}}|{{.Availability}}|{{.ManagerStatus}}|{{.ID}}'
    echo
    printf '%-4s %-7s %-7s %-7s %s\n' NODE STATUS AVAIL MANAGER LABELS
    dk m1 node ls --format "$format" | while IFS='|' read -r name state avail mgr id; do
      printf '%-4s %-7s %-7s %-7s %s\n' "$name" "$state" "$avail" "${mgr:--}" \
        "$(dk m1 node inspect -f "$LABELS" "$id")"
    done
    local ready
    ready=$(dk m1 node ls --format '{{.Hostname}} {{.Status}}' |
      awk '$2 == "Ready" { print $1 }' | sort)
    [ "$ready" = "$(node_names "$size" | sort)" ] || ok=1
  else
    ok=1
  fi
  echo
  if [ $ok = 0 ]; then
    echo "cluster: up, $size nodes Ready"
  else
    echo "cluster: not (fully) up"
  fi
  echo "DOCKER_HOST=$(node_host m1)"
  return $ok
}

cmd_stop_node() {
  [ $# = 1 ] || usage
  require_root
  node_index "$1" >/dev/null
  local start
  start=$(now)
  lock
  stop_daemons "$1"
  log "$1: dockerd stopped in $(since "$start")"
}

cmd_start_node() {
  [ $# = 1 ] || usage
  require_root
  local node=$1 start
  node_index "$node" >/dev/null
  start=$(now)
  lock
  [ -e "/run/netns/$(netns_of "$node")" ] || die "$node: no network namespace" "testbed/swarm.sh up"
  launch_daemon "$node"
  wait_daemon "$node"
  if [ "$(swarm_state m1)" = active ] && [ "$(swarm_state "$node")" != inactive ]; then
    wait_ready "$node"
    log "$node: Ready in $(since "$start")"
  else
    log "$node: dockerd answers in $(since "$start")"
  fi
}

cmd_layout() {
  local size=${1:-$(current_size)} node
  check_size "$size"
  for node in $(node_names "$size"); do
    printf '%s\t%s\t%s\t%s\t%s\n' "$node" "$(node_role "$node")" "$(node_addr "$node")" \
      "$(node_host "$node")" "$(node_labels "$node")"
  done
}

main() {
  local cmd=${1:-}
  [ $# -eq 0 ] || shift
  case $cmd in
    up) [ $# -le 1 ] || usage; require_root; cmd_up "$@" ;;
    down) [ $# -le 1 ] || usage; cmd_down "$@" ;;
    load) cmd_load "$@" ;;
    status) [ $# = 0 ] || usage; cmd_status ;;
    stop-node) cmd_stop_node "$@" ;;
    start-node) cmd_start_node "$@" ;;
    layout) [ $# -le 1 ] || usage; cmd_layout "$@" ;;
    env) [ $# = 0 ] || usage; echo "export DOCKER_HOST=$(node_host m1)" ;;
    *) usage ;;
  esac
}

main "$@"
