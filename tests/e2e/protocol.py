"""The line protocol between the in-L1 script and the host, and its parser.

The L1 /init writes everything over L1's serial console, one record per line:

  E2E-L1 <text>                                   progress of L1 itself (modules, /dev/kvm)
  E2E-L1-ERROR <text>                             L1 cannot go on (then it powers off)
  E2E-BEGIN <id> attempt=<n> t=<epoch>            a VMM run starts (t: L1 wall clock, s)
  E2E-OUT <id> <epoch> <line>                     one line of the L2 console (the VMM's stdout)
  E2E-ERR <id> <epoch> <line>                     one line of the VMM's stderr (ember's log)
  E2E-END <id> attempt=<n> status=<s> seconds=<x> t=<epoch>
  E2E-RETRY <id> reason=timeout                   the attempt timed out; it runs once more
  E2E-LIVE <id> <text>                            a scripted run's progress, written at once
                                                  (its E2E-L1S lines come again in its OUT)
  E2E-L1-DONE                                     every run is over; L1 powers off next

<epoch> stamps come from busybox `ts '%.s'` in L1 (microseconds), taken when the line was read
from the VMM's pipe, so neither the console nor the host can skew them. A run's OUT lines come
first, then its ERR lines, all between its BEGIN and END. A status of 137 is busybox
`timeout -s KILL` ending a run that overran its limit. Anything else on the console (L1 kernel
messages) is kept in the transcript and otherwise ignored.

Direct mode produces the same Attempt objects without going through text.
"""

from dataclasses import dataclass, field
import re
from typing import Dict, List, Optional, Tuple

TIMEOUT_STATUS = 137  # 128 + SIGKILL, from `timeout -s KILL`

_BEGIN = re.compile(r"^E2E-BEGIN (\S+) attempt=(\d+) t=([\d.]+)\s*$")
_OUT = re.compile(r"^E2E-(OUT|ERR) (\S+) ([\d.]+) ?(.*)$")
_END = re.compile(r"^E2E-END (\S+) attempt=(\d+) status=(\d+) seconds=([\d.]+) t=([\d.]+)\s*$")
_RETRY = re.compile(r"^E2E-RETRY (\S+) reason=(\S+)")
_LIVE = re.compile(r"^E2E-LIVE (\S+) ?(.*)$")


@dataclass
class Attempt:
    """One run of one VMM: what it printed and how it ended."""
    run_id: str
    number: int
    start: float                      # seconds, same clock as the line stamps
    timeout_s: float = 0.0
    console: List[Tuple[float, str]] = field(default_factory=list)  # (stamp, line)
    stderr: List[Tuple[float, str]] = field(default_factory=list)
    status: Optional[int] = None      # None: never ended (L1 died or the run was cut off)
    seconds: Optional[float] = None
    timed_out: bool = False
    live: List[str] = field(default_factory=list)  # E2E-LIVE lines, as they came

    def last_live(self) -> Optional[str]:
        return self.live[-1] if self.live else None

    def first_console_match(self, pattern: str) -> Optional[Tuple[float, str]]:
        regex = re.compile(pattern)
        for stamp, line in self.console:
            if regex.search(line):
                return stamp, line
        return None

    def count_console_matches(self, pattern: str) -> int:
        regex = re.compile(pattern)
        return sum(1 for _, line in self.console if regex.search(line))


@dataclass
class Transcript:
    """Everything parsed from one L1 console."""
    attempts: Dict[str, List[Attempt]] = field(default_factory=dict)  # run id -> attempts
    l1_progress: List[str] = field(default_factory=list)
    l1_errors: List[str] = field(default_factory=list)
    retries: Dict[str, str] = field(default_factory=dict)             # run id -> reason
    done: bool = False


def clean(line: str) -> str:
    """A console line without its CR/LF and without other control characters."""
    line = line.rstrip("\r\n")
    return "".join(ch for ch in line if ch == "\t" or ch >= " ")


class Parser:
    """Feeds on console lines one at a time (so the host can report progress live)."""

    def __init__(self, timeouts: Dict[str, float]):
        self.transcript = Transcript()
        self._timeouts = timeouts
        self._open: Dict[str, Attempt] = {}

    def feed(self, raw_line: str) -> Optional[Attempt]:
        """Parses one line; returns the attempt it completed, if any."""
        line = clean(raw_line)
        # The record may follow L1 kernel noise on the same line: find where it starts.
        idx = line.find("E2E-")
        if idx < 0:
            return None
        line = line[idx:]
        t = self.transcript
        if m := _OUT.match(line):
            attempt = self._open.get(m.group(2))
            if attempt is not None:
                target = attempt.console if m.group(1) == "OUT" else attempt.stderr
                target.append((float(m.group(3)), m.group(4)))
        elif m := _BEGIN.match(line):
            run_id = m.group(1)
            attempt = Attempt(run_id, int(m.group(2)), float(m.group(3)),
                              timeout_s=self._timeouts.get(run_id, 0.0))
            self._open[run_id] = attempt
            t.attempts.setdefault(run_id, []).append(attempt)
        elif m := _END.match(line):
            attempt = self._open.pop(m.group(1), None)
            if attempt is not None:
                attempt.status = int(m.group(3))
                attempt.seconds = float(m.group(4))
                attempt.timed_out = (attempt.status == TIMEOUT_STATUS and
                                     attempt.seconds >= 0.9 * attempt.timeout_s)
                return attempt
        elif m := _LIVE.match(line):
            attempt = self._open.get(m.group(1))
            if attempt is not None:
                attempt.live.append(m.group(2))
        elif m := _RETRY.match(line):
            t.retries[m.group(1)] = m.group(2)
        elif line.startswith("E2E-L1-DONE"):
            t.done = True
        elif line.startswith("E2E-L1-ERROR "):
            t.l1_errors.append(line[len("E2E-L1-ERROR "):])
        elif line.startswith("E2E-L1 "):
            t.l1_progress.append(line[len("E2E-L1 "):])
        return None


# --- the L1 side: shell functions that write the records above -------------------------------

SHELL_FUNCTIONS = r'''
now() { _t=$(echo x | ts '%.s'); echo "${_t% x}"; }

# run_once ID ATTEMPT TIMEOUT CMD...: runs CMD (a VMM, or an L1 scenario script) through
# $_attempt_fn (vm_attempt or script_attempt) with its stdout and stderr stamped per line into
# tmpfs files, dumped to the console once it has ended: writing to L1's emulated serial port
# while the VMM runs would take L1's only CPU away from the guest being timed.
run_once() {
  _id=$1; _n=$2; _limit=$3; shift 3
  rm -f /tmp/e2e.err /tmp/e2e.status /tmp/e2e.out.log /tmp/e2e.err.log
  mkfifo /tmp/e2e.err
  ts "E2E-ERR $_id %.s" < /tmp/e2e.err > /tmp/e2e.err.log &
  _errpid=$!
  _t0=$(now)
  echo "E2E-BEGIN $_id attempt=$_n t=$_t0"
  { "${_attempt_fn:-vm_attempt}" "$_limit" "$@" < /dev/null 2> /tmp/e2e.err; echo $? > /tmp/e2e.status; } \
    | ts "E2E-OUT $_id %.s" > /tmp/e2e.out.log
  _t1=$(now)
  wait $_errpid
  status=$(cat /tmp/e2e.status)
  cat /tmp/e2e.out.log /tmp/e2e.err.log
  echo "E2E-END $_id attempt=$_n status=$status seconds=$(awk "BEGIN { printf \"%.3f\", $_t1 - $_t0 }") t=$_t1"
}

# vm_attempt TIMEOUT CMD...: one VMM process, killed when it overruns TIMEOUT seconds.
vm_attempt() { _vlimit=$1; shift; timeout -s KILL "$_vlimit" "$@"; }

# script_attempt TIMEOUT SCRIPT: one attempt of an L1 scenario script (tests/e2e/l1_scripts),
# run by busybox sh in $SCRATCH, emptied first, as the leader of a session of its own: when it
# has ended (or overrun TIMEOUT and been killed) everything it left running is killed (so no
# leftover keeps the console pipe open or takes L1's CPU from the next run), the network
# interfaces it created are deleted and $SCRATCH is removed. Returns the script's status.
script_attempt() {
  _slimit=$1; _script=$2
  rm -rf "$SCRATCH" && mkdir -p "$SCRATCH" && cd "$SCRATCH" || return 125
  _nets_before=" $(ls /sys/class/net | tr '\n' ' ') "
  timeout -s KILL "$_slimit" setsid sh "$_script" &
  _spid=$!
  wait $_spid
  _src=$?
  kill -s KILL -$_spid 2>/dev/null
  for _net in $(ls /sys/class/net); do
    case "$_nets_before" in *" $_net "*) ;; *) ip link delete "$_net" 2>/dev/null ;; esac
  done
  cd / && rm -rf "$SCRATCH"
  return $_src
}

# run_vm ID RETRIES TIMEOUT CMD...: run_once, and again (up to RETRIES times) after a timeout.
run_vm() { _attempt_fn=vm_attempt; run_attempts "$@"; }

# run_script ID RETRIES TIMEOUT SCRIPT: the same for an L1 scenario script (its environment,
# SCRATCH included, exported by the caller).
run_script() { _attempt_fn=script_attempt; run_attempts "$@"; }

run_attempts() {
  _rid=$1; _retries=$2; _rlimit=$3; shift 3
  _attempt=1
  run_once "$_rid" $_attempt "$_rlimit" "$@"
  while [ "$status" = 137 ] && [ $_attempt -le "$_retries" ]; do
    echo "E2E-RETRY $_rid reason=timeout"
    _attempt=$((_attempt + 1))
    run_once "$_rid" $_attempt "$_rlimit" "$@"
  done
}
'''
