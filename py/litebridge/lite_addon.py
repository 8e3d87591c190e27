"""The JupyterLite build addon of litebridge (entry point ``jupyterlite.addon.v0``).

With ``litebridge`` installed next to ``jupyterlite-core`` and ``jupyterlite-pyodide-kernel``,
``jupyter lite build`` runs this addon after the others' ``post_build`` steps (addons run in
the order of their names; ``jupyterlite-pyodide-kernel-*`` come first, and federated extensions
are copied in ``pre_build``): it runs the three steps of :mod:`litebridge.site_build` on the
output. The labextension itself comes from the wheel's shared data, like any prebuilt extension.

This module imports ``jupyterlite_core``; it is used only by the lite build, never in the kernel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from jupyterlite_core.addons.base import BaseAddon  # type: ignore[import-untyped]

from litebridge.kernel_wheel import build_kernel_wheel
from litebridge.site_build import patch_service_worker, preload_kernel_package, publish_embed

__all__ = ["LitebridgeAddon"]


def _optional_step(step: Callable[[Path], bool], output_dir: Path) -> None:
    """Run a site step whose False means "not applicable here", dropping that result.

    The step has logged a warning already; doit fails a task whose action returns False, and a
    missing optional part (no service worker, no labextension) must not fail a build.
    """
    step(output_dir)


class LitebridgeAddon(BaseAddon):  # type: ignore[misc]
    """Cross-origin isolation in the service worker, the kernel package preloaded, embed.js published."""

    #: the jupyterlite addon API: the hooks this addon implements
    __all__: ClassVar[list[str]] = ["post_build"]

    def post_build(self, manager: Any) -> Iterator[dict[str, Any]]:
        """Yield the doit tasks that patch the built site in ``manager.output_dir``.

        Parameters
        ----------
        manager : jupyterlite_core.manager.LiteManager
            The running build.

        Yields
        ------
        dict
            doit tasks: ``isolation`` (service worker), ``preload`` (Pyodide lock, settings) and
            ``embed`` (``<site>/litebridge/embed.js`` and ``demo.html``).
        """
        output_dir = Path(manager.output_dir)
        yield self.task(
            name="isolation",
            doc="make JupyterLite's service worker add COOP/COEP (litebridge)",
            actions=[(_optional_step, [patch_service_worker, output_dir])],
            uptodate=[False],
        )
        yield self.task(
            name="preload",
            doc="add the litebridge kernel package to the Pyodide lock and preload it",
            actions=[(self._preload, [output_dir])],
            uptodate=[False],
        )
        yield self.task(
            name="embed",
            doc="publish embed.js and its demo page in <site>/litebridge/ (litebridge)",
            actions=[(_optional_step, [publish_embed, output_dir])],
            uptodate=[False],
        )

    def _preload(self, output_dir: Path) -> None:
        status = preload_kernel_package(output_dir, build_kernel_wheel)
        self.log.info("[litebridge] kernel package: %s", status)
