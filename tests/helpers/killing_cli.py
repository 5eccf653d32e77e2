"""`fmw`, SIGKILLed at a chosen moment of its refresh: the tests' fault hook.

    python -m tests.helpers.killing_cli MOMENT ARGS...

runs `fmw ARGS...` in this process and kills it with SIGKILL (as the out-of-memory killer, a
power cut or `kill -9` would) at MOMENT: `module:function`, where `function` may be a dotted
path (`Class.method`), at the start of its first call; `module:function@N` at the start of
its Nth call; a suffix `:after` kills when that call returns, `:+SECONDS` that many seconds
after it started (the call goes on meanwhile).

Name the function in the module that looks it up when it is called: `flows.nightly:
publish_docs` for the flow's call of publish_docs, `flows.publish.release:_fsync` for a
function release calls by its own name.

The kill takes this process's whole process group, as a terminal's Ctrl-\\ or a service
manager's stop would (start this module with start_new_session=True: it refuses to kill a
group it does not lead); with FMW_KILL_SCOPE=process, only this process, as the out-of-memory
killer would. The production package carries no such hook: this wraps the function only here,
once `fmw` has set up Prefect's environment (Prefect reads it when first imported).
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from flows import cli


@dataclass(frozen=True)
class Moment:
    module: str
    function: str  # a dotted path within the module
    call: int = 1  # the call that is killed, counting from 1
    when: str = "before"  # "before", "after", or "+SECONDS"

    @classmethod
    def parse(cls, text: str) -> Moment:
        module, function, *when = text.split(":")
        function, _, call = function.partition("@")
        return cls(module, function, int(call or 1), when[0] if when else "before")


def kill() -> NoReturn:
    if os.environ.get("FMW_KILL_SCOPE") == "process":
        os.kill(os.getpid(), signal.SIGKILL)
    else:
        os.killpg(os.getpgrp(), signal.SIGKILL)
    raise AssertionError("unreachable: SIGKILL cannot be caught")


def _killing(original: Callable[..., Any], moment: Moment) -> Callable[..., Any]:
    calls = 0

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls != moment.call:
            return original(*args, **kwargs)
        if moment.when == "before":
            kill()
        if moment.when.startswith("+"):
            threading.Timer(float(moment.when[1:]), kill).start()
        result = original(*args, **kwargs)
        if moment.when == "after":
            kill()
        return result

    return wrapper


def arm(moment: Moment) -> None:
    """Wrap the moment's function so that the chosen call kills."""
    *owner_path, name = moment.function.split(".")
    owner: Any = importlib.import_module(moment.module)
    for part in owner_path:
        owner = getattr(owner, part)
    setattr(owner, name, _killing(getattr(owner, name), moment))


def main(moment: Moment, cli_args: list[str]) -> int:
    if os.environ.get("FMW_KILL_SCOPE") != "process" and os.getpgrp() != os.getpid():
        sys.exit("killing_cli kills its process group: start it in a session of its own")
    prepare_prefect = cli._prepare_prefect

    def prepare_then_arm(data_dir: str | None) -> None:
        prepare_prefect(data_dir)
        arm(moment)

    cli._prepare_prefect = prepare_then_arm
    return cli.main(cli_args)


if __name__ == "__main__":
    moment, *cli_args = sys.argv[1:]
    sys.exit(main(Moment.parse(moment), cli_args))
