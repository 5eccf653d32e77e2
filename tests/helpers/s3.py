"""A real local S3-compatible endpoint for the lake tests: moto's server on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.postgres import free_port

KEY_ID, SECRET, REGION = "fmw-test-key", "fmw-test-secret", "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint: str  # host:port

    def environment(self) -> dict[str, str]:
        """What flows.config.s3_settings reads."""
        return {
            "AWS_ACCESS_KEY_ID": KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_REGION": REGION,
            "FMW_LAKE_S3_ENDPOINT": self.endpoint,
            "FMW_LAKE_S3_URL_STYLE": "path",
            "FMW_LAKE_S3_USE_SSL": "false",
        }

    def client(self):  # noqa: ANN201 - a boto3 S3 client
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=f"http://{self.endpoint}",
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
            region_name=REGION,
        )

    def keys(self, bucket: str) -> list[str]:
        listed = self.client().list_objects_v2(Bucket=bucket)
        return [entry["Key"] for entry in listed.get("Contents", [])]


@contextmanager
def s3_server() -> Iterator[S3Server]:
    port = free_port()
    moto = Path(sys.executable).with_name("moto_server")
    server = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.2)
        yield S3Server(f"127.0.0.1:{port}")
    finally:
        server.terminate()
        server.wait(timeout=30)
