"""How the harness starts its child processes (QEMU, ember): they never outlive it."""

import ctypes
import signal

PR_SET_PDEATHSIG = 1  # prctl(2)


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGKILL when the harness dies, even by SIGKILL (a ctest
    timeout), so no QEMU or ember is left running."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def interactive_child() -> None:
    """preexec_fn for a child on the user's terminal: the harness ignores SIGINT meanwhile,
    the child must not."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    die_with_parent()
