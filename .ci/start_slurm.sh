#!/usr/bin/env bash
# Starts a one-node SLURM cluster on this machine, for the tests that submit real job arrays
# (tests/core/test_slurm.py). Runs as root on Debian: installs Debian's slurm-wlm and munge
# if they are missing, writes /etc/slurm/slurm.conf (one node with this machine's CPUs and
# memory, one default partition), starts munged (as the munge user), slurmctld and slurmd,
# and waits until sinfo shows the node idle.
#
# Idempotent: what is installed is not installed again, daemons that run are left running
# unless the configuration changed (then they restart with the new one). No systemd needed:
# the plugins are the ones that work in a container (no cgroups, no CPU binding).
set -euo pipefail
export PATH="${PATH}:/usr/sbin:/sbin"  # the daemons live there; a non-login PATH may lack it

readonly CONF=/etc/slurm/slurm.conf
readonly WAIT_SEC=${SLURM_START_TIMEOUT_SEC:-120}

if [[ ${EUID} -ne 0 ]]; then
  echo "start_slurm.sh: run as root (it installs packages and starts daemons)" >&2
  exit 1
fi

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
    || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm munge
fi

# munge: the key (the package makes one; a bare image may not have it) and the daemon.
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [[ ! -s /etc/munge/munge.key ]]; then
  mungekey --create --keyfile=/etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
fi
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged
fi

# slurm.conf: this machine as the one node, with what slurmd detects (CPUs, sockets, memory),
# reached on the loopback address (no name resolution needed).
node_line=$(slurmd -C | head -n 1)
host=$(hostname -s)
install -d -m 0755 /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
new_conf=$(cat <<EOF
# Written by .ci/start_slurm.sh: a one-node test cluster.
ClusterName=avgperf
SlurmctldHost=${host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
KillWait=5
${node_line} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=main Nodes=${host} Default=YES MaxTime=INFINITE State=UP
EOF
)
if [[ ! -f ${CONF} ]] || [[ "$(cat "${CONF}")" != "${new_conf}" ]]; then
  printf '%s\n' "${new_conf}" > "${CONF}"
  for pidfile in /run/slurmd.pid /run/slurmctld.pid; do
    pid=$(cat "${pidfile}" 2>/dev/null || true)
    if [[ -n ${pid} ]] && kill -0 "${pid}" 2>/dev/null; then
      kill "${pid}"
      while kill -0 "${pid}" 2>/dev/null; do sleep 0.2; done
    fi
  done
fi

running() {  # running PIDFILE: the daemon of that pid file is alive
  [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}
running /run/slurmctld.pid || slurmctld
running /run/slurmd.pid || slurmd

# Wait for the node to be idle (or busy with jobs); a node left down or drained by an earlier
# run is resumed.
deadline=$((SECONDS + WAIT_SEC))
while true; do
  state=$(sinfo -h -N -n "${host}" -o %t 2>/dev/null | head -n 1 || true)
  case ${state} in
    idle|mix|alloc) break ;;
    down*|drain*|drng*) scontrol update NodeName="${host}" State=RESUME 2>/dev/null || true ;;
  esac
  if (( SECONDS > deadline )); then
    echo "start_slurm.sh: node ${host} not idle after ${WAIT_SEC} s (state '${state}');" \
      "see /var/log/slurm/" >&2
    exit 1
  fi
  sleep 0.5
done
echo "slurm: node ${host} ${state} ($(sinfo -h -o '%c CPUs, %m MB, partition %P' | head -n 1))"
