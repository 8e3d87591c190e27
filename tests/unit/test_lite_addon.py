"""The JupyterLite build addon: its doit actions never fail a build for a missing optional part."""

from __future__ import annotations

from pathlib import Path

from jupyterlite_core.manager import LiteManager  # type: ignore[import-untyped]

from litebridge.lite_addon import LitebridgeAddon


def test_a_site_without_a_service_worker_or_labextension_does_not_fail_the_build(tmp_path: Path) -> None:
    manager = LiteManager(output_dir=tmp_path, lite_dir=tmp_path)
    tasks = {task["name"]: task for task in LitebridgeAddon(manager).post_build(manager)}
    for name in ("isolation", "embed"):
        action, args = tasks[name]["actions"][0]
        # doit fails a task whose python action returns False; None (or a dict) is success
        assert action(*args) is not False, name
    assert not (tmp_path / "service-worker.js").exists()
    assert not (tmp_path / "litebridge").exists()
