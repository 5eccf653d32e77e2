"""`fmw`, SIGKILLed when its refresh reaches a stage: the tests' fault hook.

    python -m tests.helpers.killing_cli STAGE ARGS...

runs `fmw ARGS...` in this process, and kills it (SIGKILL, as the OOM killer or a power cut
would) at the start of STAGE: before ingest, before the dbt plan and build, before the
quality stage builds its candidate, or before the publish swap. The production package
carries no such hook; this replaces the stage's function in flows.nightly.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import NoReturn

from flows import nightly
from flows.cli import main

FUNCTION_OF_STAGE = {
    "ingest": "ingest_stage",
    "dbt": "plan_dbt_build",
    "quality": "quality_stage",
    "publish": "publish_stage",
}


def _kill_this_process(*args: object, **kwargs: object) -> NoReturn:
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable: SIGKILL cannot be caught")


if __name__ == "__main__":
    stage, *cli_args = sys.argv[1:]
    setattr(nightly, FUNCTION_OF_STAGE[stage], _kill_this_process)
    sys.exit(main(cli_args))
