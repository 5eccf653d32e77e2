"""The ephemeral Prefect API of `fmw refresh`: a server process that dies with the refresh.

Prefect 3 serves its ephemeral API from a uvicorn process of its own
(prefect.server.api.server.SubprocessASGIServer), started by the first client that needs it
and stopped at the refresh's exit. A refresh SIGKILLed alone (the out-of-memory killer, `kill
-9 PID`) never reaches that exit: the server ran on, an orphan holding a local port and the
Prefect database under data/internal/prefect. Started here instead, from the main thread,
through flows.parent_death, the kernel kills it with the refresh. Prefect keeps one server
per port, so its clients find this one and start no other.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import prefect
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import get_current_settings

from flows.parent_death import command_dying_with_this_process


class ServerDyingWithItsStarter(SubprocessASGIServer):
    """Prefect's ephemeral API server, started through flows.parent_death."""

    def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
        return subprocess.Popen(
            args=command_dying_with_this_process(self.uvicorn_command()),
            env=self.server_environment(),
        )

    # Prefect 3.9's own command and environment (SubprocessASGIServer._run_uvicorn_command);
    # tests/ops/test_ephemeral_api.py fails when a Prefect upgrade changes them.
    def uvicorn_command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(prefect.__module_path__.parent),
            "--factory",
            "prefect.server.api.server:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ]

    def server_environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
            **get_current_settings().to_environment_variables(exclude_unset=True),
        }


def start_ephemeral_api() -> SubprocessASGIServer:
    """Start the ephemeral API now, from the calling thread, which must outlive every flow
    of this process (the main thread); Prefect's clients then use it."""
    server = ServerDyingWithItsStarter()
    server.start()
    return server
