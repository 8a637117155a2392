#!/usr/bin/env bash
# A throwaway single-node SLURM cluster (munge + slurmctld + slurmd, no accounting) for the
# pipeline tests and for trying the Snakemake SLURM profile (pipelines/profiles/slurm).
# Needs root and the Debian packages slurmctld slurmd slurm-client munge (see ../shared/SLURM.md).
#   scripts/slurm-local.sh start BASE   BASE: a folder it owns (short: slurmd's sockets live in it)
#   scripts/slurm-local.sh stop BASE    stops only the daemons it started; keeps BASE/log
#   scripts/slurm-local.sh env BASE     eval "$(scripts/slurm-local.sh env BASE)" sets SLURM_CONF
#                                       (and USER where it is unset: Snakemake --slurm needs it)
# start exits 77 (skip) when not root or a tool is missing. Its PIDs are in BASE/run/*.pid;
# jobs are logged to BASE/log/jobcomp.txt. The ports are SLURM's defaults (6817, 6818), so one
# such cluster runs at a time, and none beside a system slurmctld/slurmd.
set -euo pipefail

usage() { echo "usage: $0 start|stop|env BASE" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
BASE=$(realpath -m -- "$2")
export SLURM_CONF=$BASE/slurm.conf
TIMEOUT=${SLURM_LOCAL_TIMEOUT:-60}
MUNGE_SOCKET=/run/munge/munge.socket.2

log() { echo "slurm-local: $*" >&2; }

# pid_alive NAME: the PID recorded in BASE/run/NAME.pid runs and is that program
# (guards against a reused PID).
pid_alive() {
    local f=$BASE/run/$1.pid pid
    [ -s "$f" ] || return 1
    pid=$(cat "$f")
    [ -d "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ]
}

munge_answers() { timeout 5 munge -n -S "$MUNGE_SOCKET" >/dev/null 2>&1; }

# launch NAME LOG CMD...: start CMD in its own session, immune to the script's exit, record PID.
launch() {
    local name=$1 out=$2; shift 2
    setsid nohup "$@" >>"$out" 2>&1 </dev/null &
    echo $! > "$BASE/run/$name.pid"
}

show_logs() {
    local f
    for f in "$BASE"/log/munged.out "$BASE"/log/slurmctld.log "$BASE"/log/slurmctld.out \
             "$BASE"/log/slurmd.log "$BASE"/log/slurmd.out; do
        [ -s "$f" ] || continue
        echo "---- tail $f" >&2
        tail -n 20 "$f" >&2
    done
}

# wait_for WHAT CHECK...: poll CHECK until it succeeds or TIMEOUT seconds pass.
wait_for() {
    local what=$1 deadline=$((SECONDS + TIMEOUT)); shift
    until "$@"; do
        if [ $SECONDS -ge $deadline ]; then
            log "timed out after ${TIMEOUT}s waiting for $what"
            return 1
        fi
        sleep 0.5
    done
}

ctld_up() { pid_alive slurmctld && timeout 10 scontrol ping 2>/dev/null | grep -q 'is UP'; }

node_idle() {
    pid_alive slurmd || return 1
    local state
    state=$(timeout 10 sinfo -h -N -n localhost -o %T 2>/dev/null | head -n1) || return 1
    case "$state" in
        idle) return 0 ;;
        down*|drain*|fail*)
            timeout 10 scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true ;;
    esac
    return 1
}

stop_pid() {  # stop_pid NAME: TERM the recorded PID, KILL after 10 s
    local name=$1 pid _
    if pid_alive "$name"; then
        pid=$(cat "$BASE/run/$name.pid")
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 40); do
            pid_alive "$name" || break
            sleep 0.25
        done
        if pid_alive "$name"; then
            log "$name ($pid) ignored TERM for 10 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.2
        fi
        log "stopped $name ($pid)"
    fi
    rm -f "$BASE/run/$name.pid"
}

do_stop() {
    if pid_alive slurmctld; then
        timeout 15 scancel --user="$(id -un)" 2>/dev/null || true
        # let cancelled jobs end so that no slurmstepd outlives slurmd (KillWait=5)
        local deadline=$((SECONDS + 20))
        while [ $SECONDS -lt $deadline ] && pid_alive slurmd &&
              [ -n "$(timeout 10 squeue -h -o %i 2>/dev/null)" ]; do
            sleep 0.5
        done
    fi
    stop_pid slurmd
    stop_pid slurmctld
    stop_pid munged
    rm -rf "$BASE/state" "$BASE/spool"
}

write_conf() {
    local cpus mem real
    cpus=$(nproc)
    [ "$cpus" -ge 4 ] || cpus=4  # SlurmdParameters=config_overrides lets us advertise more
    real=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
    [ -n "$real" ] || { log "could not read RealMemory from slurmd -C"; exit 1; }
    mem=$((real * 9 / 10))
    cat > "$SLURM_CONF" <<EOF
# Written by scripts/slurm-local.sh: a throwaway single-node cluster (no accounting).
ClusterName=ci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$BASE/state
SlurmdSpoolDir=$BASE/spool
SlurmctldPidFile=$BASE/run/slurmctld.daemon.pid
SlurmdPidFile=$BASE/run/slurmd.daemon.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$BASE/log/jobcomp.txt
MinJobAge=600
DefMemPerCPU=$((mem / cpus))
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MailProg=/bin/true
NodeName=localhost NodeHostname=localhost CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
}

start_failed() {  # EXIT trap of start: show the logs, stop what was started
    local rc=$?
    trap - EXIT
    [ $rc -ne 0 ] || return 0
    log "start failed (exit $rc); log tails:"
    show_logs
    do_stop
    exit $rc
}

do_start() {
    if [ "$(id -u)" != 0 ]; then
        log "must run as root (slurmd runs jobs as their users)"; exit 77
    fi
    local tool
    for tool in munged munge mungekey setpriv slurmctld slurmd sinfo scontrol; do
        command -v "$tool" >/dev/null 2>&1 || {
            log "$tool not found (apt-get install slurmctld slurmd slurm-client munge)"; exit 77; }
    done
    if pid_alive slurmctld && pid_alive slurmd; then
        log "a cluster is already running in $BASE (slurmctld $(cat "$BASE/run/slurmctld.pid"), slurmd $(cat "$BASE/run/slurmd.pid"))"
        exit 0
    fi
    if [ -d "$BASE/run" ]; then do_stop; fi  # leftovers of a half-dead cluster
    local p
    for p in 6817 6818; do
        if ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
            log "port $p is in use (another slurmctld/slurmd?); stop it first"; exit 1
        fi
    done
    mkdir -p "$BASE"/{state,spool,run,log}
    chmod 755 "$BASE"
    write_conf
    trap start_failed EXIT
    trap 'exit 130' INT TERM

    if [ ! -s /etc/munge/munge.key ]; then
        log "creating /etc/munge/munge.key"
        install -d -o munge -g munge -m 700 /etc/munge
        mungekey --create --keyfile=/etc/munge/munge.key
        chown munge:munge /etc/munge/munge.key
        chmod 0400 /etc/munge/munge.key
    fi
    if munge_answers; then
        log "reusing the munged already running (not ours: stop leaves it alone)"
    else
        install -d -o munge -g munge /run/munge /var/log/munge /var/lib/munge
        launch munged "$BASE/log/munged.out" \
            setpriv --reuid=munge --regid=munge --clear-groups /usr/sbin/munged --foreground
        wait_for munged munge_answers
    fi

    launch slurmctld "$BASE/log/slurmctld.out" slurmctld -D -c
    wait_for "slurmctld (scontrol ping)" ctld_up
    launch slurmd "$BASE/log/slurmd.out" slurmd -D -N localhost
    wait_for "node localhost to be idle" node_idle
    trap - EXIT INT TERM
    log "up in $BASE: $(sinfo -h -o '%P %D %c CPUs %m MB %T')"
    log "use it with: eval \"\$($0 env $BASE)\""
}

case "$cmd" in
    start) do_start ;;
    stop)
        if [ -d "$BASE/run" ]; then do_stop; fi ;;
    env)
        printf 'export SLURM_CONF=%q\n' "$SLURM_CONF"
        if [ -z "${USER:-}" ]; then printf 'export USER=%q\n' "$(id -un)"; fi ;;
    *) usage ;;
esac
