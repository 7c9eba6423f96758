"""Shared test set-up: hypothesis profiles (quick by default, thorough in CI), data paths and a
local HTTP server for the download tests."""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import autograd_cv as ag

settings.register_profile(
    "quick",
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_default = "thorough" if os.environ.get("CI") else "quick"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", _default))

#: ../shared/data beside the repository (or AUTOGRAD_CV_SHARED_DATA); tests needing it skip
SHARED_DATA = Path(
    os.environ.get(
        "AUTOGRAD_CV_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)


@pytest.fixture(autouse=True)
def _same_start():
    """Each test starts from the package generator seeded with 0 (layer initialisation, randn):
    a test that trains a model runs the same way alone, in any order and on any run."""
    ag.manual_seed(0)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep the test output clean
        pass


@pytest.fixture
def serve():
    """Start an HTTP server on 127.0.0.1 for a folder; yields a function folder -> base URL."""
    servers = []

    def start(folder):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
