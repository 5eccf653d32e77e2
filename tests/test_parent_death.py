"""Specification of flows.parent_death: a child the kernel kills when its parent dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from flows.parent_death import command_dying_with_this_process
from tests.helpers.processes import is_gone, wait_until_gone


def test_a_program_started_through_it_dies_when_its_starter_is_killed_alone() -> None:
    starter = (
        "import os, signal, subprocess, sys, time\n"
        "from flows.parent_death import command_dying_with_this_process\n"
        "child = subprocess.Popen(command_dying_with_this_process(['sleep', '600']))\n"
        "time.sleep(1)  # until it has become sleep\n"
        "print(child.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    process = subprocess.run(
        [sys.executable, "-c", starter], stdout=subprocess.PIPE, text=True, timeout=60
    )
    child_pid = int(process.stdout)
    try:
        assert process.returncode == -signal.SIGKILL
        assert wait_until_gone(child_pid, seconds=5)
    finally:
        if not is_gone(child_pid):
            os.kill(child_pid, signal.SIGKILL)


def test_a_child_whose_parent_already_died_exits_at_once() -> None:
    # Told that its parent is a process that is not (any more) its parent: the parent died
    # before the death signal was armed, and the child must not run on unwatched.
    wrong_parent = os.getpid() + 1_000_000
    command = command_dying_with_this_process(["sleep", "600"])
    command[3] = str(wrong_parent)

    finished = subprocess.run(command, timeout=60)

    assert finished.returncode == 1


def test_the_program_keeps_its_arguments_and_its_exit_status() -> None:
    finished = subprocess.run(
        command_dying_with_this_process(["sh", "-c", 'echo "$0 $1"; exit 7', "a b", "c"]),
        stdout=subprocess.PIPE,
        text=True,
        timeout=60,
    )

    assert (finished.returncode, finished.stdout) == (7, "a b c\n")
