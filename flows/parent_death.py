"""A child process that dies with its parent: the kernel kills it, however the parent ends.

A helper process (the quality worker, the ephemeral Prefect API server) that outlives a
refresh killed by SIGKILL (the out-of-memory killer, `kill -9`) keeps running with no one to
answer, and may keep the refresh lock or a database open. A watch thread in the child cannot
be trusted to notice: it runs only when the child's Python can run (not while the child is
stopped or a native call holds the GIL). Linux's PR_SET_PDEATHSIG has the kernel send
SIGKILL instead.

The kernel sends it when the *thread* that started the child ends, not only the process:
start such a child from a thread that lives at least as long as the child is needed.

    python -m flows.parent_death PARENT_PID PROGRAM ARGS...

arms the signal, then becomes PROGRAM (exec keeps the signal armed): the way to start a
program one does not control the code of.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(parent_pid: int) -> bool:
    """Have the kernel SIGKILL this process when its parent dies; exit now if it already has.

    Call it first thing in the child, with the pid of the process that started it. True when
    the kernel took the order; False where it cannot (not Linux), and the child must watch
    its parent itself.
    """
    armed = _arm_parent_death_signal()
    # The parent may have died before the signal was armed: the child was then handed to
    # another process, and nothing will signal it.
    if os.getppid() != parent_pid:
        os._exit(1)
    return armed


def _arm_parent_death_signal() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    return libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0


def command_dying_with_this_process(command: list[str]) -> list[str]:
    """`command`, started so that it dies with the process (thread) that starts it."""
    return [sys.executable, "-m", "flows.parent_death", str(os.getpid()), *command]


def _exec_dying_with_parent(argv: list[str]) -> None:
    parent_pid, program, *args = argv
    die_with_parent(int(parent_pid))
    os.execvp(program, [program, *args])


if __name__ == "__main__":
    _exec_dying_with_parent(sys.argv[1:])
