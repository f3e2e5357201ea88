#!/usr/bin/env bash
# Single-node SLURM for CI (Debian's slurm-wlm, no systemd, no accounting), as root.
# Recipe and timings: ../shared/reference/snakemake.md section 11. Idempotent: a running
# controller is left alone. Two fake GPU device nodes let `gpu` resources map to real GRES.
set -euo pipefail
if sinfo -h -o %t 2>/dev/null | grep -qx idle; then
  echo "slurm: already up"; exit 0
fi
NCPU=$(nproc); MEM=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
HOST=$(hostname -s)
if ! command -v slurmctld >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi
[ -s /etc/munge/munge.key ] || mungekey --create --force
mkdir -p /run/munge && chown munge:munge /run/munge
[ -s /run/munge/munged.pid ] && kill -0 "$(cat /run/munge/munged.pid)" 2>/dev/null \
  || runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
for i in 0 1; do [ -e /dev/fakegpu$i ] || mknod /dev/fakegpu$i c 1 3; done
cat > /etc/slurm/gres.conf <<GRES
NodeName=$HOST Name=gpu File=/dev/fakegpu[0-1]
GRES
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=ci
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=300
GresTypes=gpu
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$NCPU RealMemory=$MEM Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
/usr/sbin/slurmctld
/usr/sbin/slurmd
for i in $(seq 120); do sinfo -h -o %t 2>/dev/null | grep -qx idle && break; sleep 0.5; done
sinfo
