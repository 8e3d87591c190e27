"""Shared pytest configuration: where the repository and the built site are."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--site-dir`` (the built site the browser tests serve, default ``_output``) and
    ``--soak`` (also run the tests marked ``soak``: ``make soak``)."""
    parser.addoption(
        "--site-dir",
        default=str(REPO_ROOT / "_output"),
        help="built JupyterLite site to test (default: _output; build it with `make site`)",
    )
    parser.addoption(
        "--soak",
        action="store_true",
        help="also run the soak tests (marked soak: long, probabilistic; `make soak`)",
    )


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's root directory."""
    return REPO_ROOT
