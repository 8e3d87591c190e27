"""The ``window`` figures of issue 10, each as a ratio to ``call_sync`` measured alongside.

``window.document.title`` (two round trips), a read on a held handle (``doc.title``, one round
trip), a method call on a handle (``el.getAttribute("id")``) and a callback round trip page ->
Python -> page (the page awaits a Python function it got from ``window``). They are measured in
alternating blocks with ``page.call_sync`` (``window.call_sync.<transport>``), so the ratios
compare figures taken under the same load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from harness import LiteKernel

    from .stats import Figure

#: (figure key suffix, kernel function, label)
KERNEL_FIGURES = (
    ("title_path", "window_title_path", "window.document.title (two round trips)"),
    ("title_read", "window_title_read", "doc.title on a held JSHandle (one attribute read)"),
    ("method_call", "window_method_call", 'el.getAttribute("id") on a held JSHandle'),
)


def measure_window(
    kernel: LiteKernel,
    transport: str,
    counts: Any,
    figures: dict[str, Figure],
    *,
    kernel_samples: Callable[[LiteKernel, str], Any],
    page_script: Callable[[str], str],
    js_options: Callable[..., dict[str, Any]],
    make_figure: Callable[..., Figure],
) -> None:
    """Add ``window.*.<transport>`` figures (and the ``call_sync`` they are compared with)."""
    title = kernel.value("window_setup()")
    if not isinstance(title, str):
        raise RuntimeError(f"window.document.title read {title!r}")
    blocks = counts.blocks
    share = max(1, counts.samples // blocks)
    args = f"{share}, {counts.per_sample}, {counts.warmup}"
    samples: dict[str, list[float]] = {}
    for _ in range(blocks):
        samples.setdefault("call_sync", []).extend(kernel_samples(kernel, f"call_sync_small({args})"))
        for key, function, _label in KERNEL_FIGURES:
            samples.setdefault(key, []).extend(kernel_samples(kernel, f"{function}({args})"))
        result = kernel.page.evaluate(page_script("pycallback.js"), js_options(counts, samples=share))
        samples.setdefault("callback", []).extend(v / 1000.0 for v in result["samples"])
    labels = {
        "call_sync": f"page.call_sync small JSON, transport {transport} (measured with the window figures)",
        "callback": "page->Python->page: the page awaits a Python function from window (small JSON)",
        **{key: f"{label}, transport {transport}" for key, _function, label in KERNEL_FIGURES},
    }
    for key, values in samples.items():
        name = f"window.{key}.{transport}"
        figures[name] = make_figure(name, labels[key], values, counts.per_sample)
