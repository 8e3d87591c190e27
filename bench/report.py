"""Ratios to baselines, the issue's targets, and the printed / Markdown / JSON reports.

Every ratio is ``p50 time of A / p50 time of B`` over the figures of one repetition; for two
transfers of the same size that is also ``throughput of B / throughput of A``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .stats import Figure

MIB = 1024 * 1024
#: bulk payload sizes (bytes) and their names in figure keys
BULK_SIZES: dict[str, int] = {"1KiB": 1024, "64KiB": 64 * 1024, "1MiB": MIB, "16MiB": 16 * MIB}

_OPS: dict[str, Callable[[float, float], bool]] = {"<=": operator.le, ">=": operator.ge}


@dataclass(frozen=True)
class Ratio:
    """``numerator.p50 / denominator.p50`` with an optional target.

    Attributes
    ----------
    numerator, denominator : str
        Figure keys.
    label : str
        What the ratio means.
    op, limit : str or None, float or None
        Target: ``value <op> limit`` (``"<="`` or ``">="``); None for information only.
    """

    numerator: str
    denominator: str
    label: str
    op: str | None = None
    limit: float | None = None

    @property
    def name(self) -> str:
        """``"<numerator> / <denominator>"``."""
        return f"{self.numerator} / {self.denominator}"


@dataclass(frozen=True)
class Floor:
    """An absolute target on a throughput figure: ``figure MB/s >= limit``."""

    figure: str
    label: str
    limit_mb_per_s: float

    @property
    def name(self) -> str:
        """``"<figure> MB/s"``."""
        return f"{self.figure} MB/s"


RATIOS: list[Ratio] = [
    # the targets of issue 11 (issue 4's, tightened), then issue 4's and the embed issue's
    Ratio("call_sync.sab", "raw.sab_sync", "call_sync (sab) vs the raw JS SAB+Atomics floor", "<=", 2.5),
    Ratio("ws.small", "call_sync.sab", "WebSocket round trip vs call_sync (sab): times faster", ">=", 5.0),
    Ratio("await_call.isolated", "await_floor.isolated", "await page.call vs Pyodide's await floor", "<=", 1.5),
    Ratio("kcall.isolated", "raw.postmessage", "page->Python k.call vs the raw postMessage floor", "<=", 2.0),
    Ratio(
        "raw.sab_bulk.16MiB",
        "bulk.sab.one_way.16MiB",
        "16 MiB Python->page (sab): share of the raw two-copy floor's MB/s",
        ">=",
        0.7,
    ),
    Ratio("call_sync.jspi", "await_floor.plain", "call_sync (jspi) vs the await floor", "<=", 2.0),
    Ratio("start.with", "start.without", "kernel start with the bridge vs without", "<=", 1.02),
    Ratio("ws.bulk.one_way.16MiB", "bulk.sab.one_way.16MiB", "16 MiB Python->page: times the WebSocket", ">=", 30.0),
    Ratio("start.embed", "start.with", "kernel start through embed() vs the repl app (no slower)", "<=", 1.05),
    Ratio("start.embed.app", "start.embed.call", "embed(): share of the start spent loading the frame's app"),
    Ratio("start.embed.kernel", "start.embed.call", "embed(): share of the start before the kernel starts booting"),
    Ratio("await_call.plain", "await_floor.plain", "await page.call vs the await floor (no COOP/COEP)"),
    Ratio("call_sync.jspi", "raw.sab_sync", "call_sync (jspi) vs the raw JS SAB floor"),
    Ratio("ws.small", "call_sync.jspi", "WebSocket round trip vs call_sync (jspi): times faster"),
    Ratio("ws.small", "await_call.isolated", "WebSocket round trip vs await page.call: times faster"),
    Ratio("kcall.plain", "raw.postmessage", "page->Python k.call (no COOP/COEP) vs the postMessage floor"),
    Ratio("comm.isolated", "kcall.isolated", "Jupyter comm round trip vs k.call: times faster"),
    Ratio("ws.small", "kcall.isolated", "WebSocket round trip vs k.call: times faster"),
    Ratio("ws.bulk.round_trip.16MiB", "bulk.sab.round_trip.16MiB", "16 MiB round trip (sab): times the WebSocket"),
    Ratio("ws.bulk.round_trip.16MiB", "bulk.await.round_trip.16MiB", "16 MiB round trip (await): times the WebSocket"),
    Ratio("ws.bulk.round_trip.16MiB", "bulk.jspi.round_trip.16MiB", "16 MiB round trip (jspi): times the WebSocket"),
    Ratio(
        "call_sync.sab", "raw.sab_sync.gap40us", "call_sync (sab) vs the raw floor with 40 us of worker work per call"
    ),
    Ratio("profile.sab.sab", "raw.sab_sync", "call_sync parts: helper + page round trip vs the raw floor"),
    Ratio("profile.parts.helper", "raw.sab_sync", "call_sync parts: JS-only helper round trip vs the raw floor"),
    Ratio("profile.await.no_timeout", "await_floor.isolated", "await page.call without its timeout timer vs the floor"),
    Ratio("profile.jspi.run_sync", "await_floor.plain", "jspi stack switch alone (run_sync) vs the await floor"),
    Ratio("call_sync.jspi", "await_call.plain", "call_sync (jspi) vs await page.call (no COOP/COEP)"),
    Ratio("warmup.call_sync.sab", "call_sync.sab", "call_sync (sab) right after boot (warm-up blocks) vs counted"),
    Ratio("warmup.call_sync.jspi", "call_sync.jspi", "call_sync (jspi) right after boot (warm-up blocks) vs counted"),
    Ratio("warmup.kcall.isolated", "kcall.isolated", "k.call right after boot (warm-up blocks) vs counted"),
    Ratio("bulk.sab.one_way.16MiB", "raw.sab_bulk.16MiB", "16 MiB Python->page (sab) vs the raw JS two-copy floor"),
    Ratio("import_litebridge", "start.with", "import litebridge as a share of kernel start"),
    Ratio("window.title_read.sab", "window.call_sync.sab", "doc.title read (sab) vs call_sync (sab)", "<=", 1.2),
    Ratio("window.title_path.sab", "window.call_sync.sab", "window.document.title (sab, 2 round trips) vs call_sync"),
    Ratio("window.method_call.sab", "window.call_sync.sab", "method call on a JSHandle (sab) vs call_sync"),
    Ratio("window.callback.sab", "window.call_sync.sab", "callback page->Python->page vs call_sync (sab)"),
    Ratio("window.title_read.jspi", "window.call_sync.jspi", "doc.title read (jspi) vs call_sync (jspi)"),
    Ratio("window.title_path.jspi", "window.call_sync.jspi", "window.document.title (jspi) vs call_sync (jspi)"),
    Ratio("window.method_call.jspi", "window.call_sync.jspi", "method call on a JSHandle (jspi) vs call_sync"),
    Ratio("window.callback.jspi", "window.call_sync.jspi", "callback page->Python->page vs call_sync (jspi)"),
]

FLOORS: list[Floor] = [
    Floor("bulk.sab.one_way.16MiB", "16 MiB Python->page (sab) >= 1.5 GB/s", 1500.0),
    Floor("bulk.sab.round_trip.16MiB", "16 MiB echo Python->page->Python (sab) >= 1 GB/s", 1000.0),
]


@dataclass(frozen=True)
class Bound:
    """The best value a target can reach on this machine, from floors of the same repetition.

    For a ``<=`` ratio target: ``(sum of the times of `terms`) / over`` is a lower bound when
    every term is a cost the bridge's operation cannot avoid. For a ``>=`` "times faster"
    target: ``faster / (sum of the times of `terms`)`` is an upper bound. For a throughput
    target: ``terms[0]``'s MB/s times ``share`` (or the bytes over the summed times of several
    transfers in a row) is an upper bound. When the bound itself misses
    the target in a repetition, no change to the bridge can meet it there.

    Attributes
    ----------
    target : str
        The target's name (:attr:`Ratio.name` or :attr:`Floor.name`).
    label : str
        Why the bound holds.
    terms : tuple of str
        Figure keys: times added (ratio), or the throughput figure; several throughput figures
        are transfers of the same bytes one after the other (the first one's bytes over their
        summed times).
    over : str or None
        A ``<=`` ratio's denominator figure; None for the other bounds.
    share : float
        Throughput bound only: the share of ``terms[0]``'s MB/s reachable at best.
    faster : str or None
        A ``>=`` ratio's numerator figure (the slower alternative); None for the other bounds.
    """

    target: str
    label: str
    terms: tuple[str, ...]
    over: str | None = None
    share: float = 1.0
    faster: str | None = None

    def value(self, figures: Mapping[str, Figure]) -> float | None:
        """The bound in one repetition (a ratio, or MB/s), or None when a figure is missing."""
        if self.faster is not None:
            return self._faster(figures)
        if self.over is None:
            return self._throughput(figures)
        times = [_p50(figures, key) for key in self.terms]
        over = _p50(figures, self.over)
        if over is None or None in times:
            return None
        return sum(t for t in times if t is not None) / over

    def _faster(self, figures: Mapping[str, Figure]) -> float | None:
        slower = _p50(figures, self.faster) if self.faster is not None else None
        parts = [_p50(figures, key) for key in self.terms]
        if slower is None or None in parts:
            return None
        return slower / sum(t for t in parts if t is not None)

    def _throughput(self, figures: Mapping[str, Figure]) -> float | None:
        if len(self.terms) == 1:
            mbs = _mb(figures.get(self.terms[0]))
            return None if mbs is None else mbs * self.share
        # transfers of the same bytes one after the other: the bytes over their summed times
        legs = [figures[key] for key in self.terms if key in figures]
        nbytes = legs[0].nbytes if len(legs) == len(self.terms) else None
        if nbytes is None:
            return None
        return nbytes / sum(leg.p50_s for leg in legs) / 1e6


#: the least a ``call_sync`` (sab) of the small message can take: the raw SAB round trip when
#: the worker works between calls (``raw.sab_sync.gap40us``: Python's encode and decode between two
#: calls are such work, and in Firefox any gap of 5-40 us triples the back-to-back floor,
#: ``python -m bench.gap``), plus Python's own least work per call (``profile.parts.*``)
SYNC_LEAST = ("raw.sab_sync.gap40us", "profile.parts.checks", "profile.parts.encode", "profile.parts.decode")
_SYNC_LEAST_LABEL = (
    "the raw SAB round trip when the worker works between calls (raw.sab_sync.gap40us: Python's own "
    "work between two calls is such a gap, and in Firefox a gap of 5-40 us makes the floor 3-5x "
    "the back-to-back one, python -m bench.gap) plus Python's least work per call (the checks, "
    "the encode and the decode: profile.parts.checks + encode + decode)"
)

BOUNDS: list[Bound] = [
    Bound(
        "call_sync.sab / raw.sab_sync",
        _SYNC_LEAST_LABEL + ", over the back-to-back floor",
        SYNC_LEAST,
        "raw.sab_sync",
    ),
    Bound(
        "ws.small / call_sync.sab",
        "the WebSocket round trip over " + _SYNC_LEAST_LABEL,
        SYNC_LEAST,
        faster="ws.small",
    ),
    Bound(
        "await_call.isolated / await_floor.isolated",
        "the least bridge round trip: Python posts the call's envelope written from a template "
        "(no argument checks, no pending table, no timeout), the page's bridge serves it as any "
        "call, the worker enters Python for the answer as for any (through callPromising where "
        "JSPI exists, so that the resumed task can block) and a minimal receiver parses it and "
        "resumes the awaiting task: profile.await.lean, over the floor (the same round trip with "
        "no bridge code at all, profile.await.port_min, is in the table)",
        ("profile.await.lean",),
        "await_floor.isolated",
    ),
    Bound(
        "call_sync.jspi / await_floor.plain",
        "the same blocking round trip with no bridge code: Python posts a frame and blocks in "
        "run_sync on the helper's promise of the answer, the page's port echo posts the frame "
        "back and the helper resolves that promise in JS: profile.jspi.port_min, over the floor",
        ("profile.jspi.port_min",),
        "await_floor.plain",
    ),
    Bound(
        "kcall.isolated / raw.postmessage",
        "the kernel's worker answering the same frame from a minimal Python receiver (FFI in + "
        "post, no bridge code): profile.kcall.port_min, over the floor",
        ("profile.kcall.port_min",),
        "raw.postmessage",
    ),
    Bound(
        "bulk.sab.one_way.16MiB MB/s",
        "the raw JS two-copy transfer through the SAB, no Python: raw.sab_bulk.16MiB",
        ("raw.sab_bulk.16MiB",),
    ),
    Bound(
        "bulk.sab.round_trip.16MiB MB/s",
        "the raw JS transfer there (copy in, copy out into a new buffer: raw.sab_bulk.16MiB) and "
        "back (copy in, copy out into a reused buffer, as the worker reads answers: "
        "raw.sab_bulk_back.16MiB), one after the other",
        ("raw.sab_bulk.16MiB", "raw.sab_bulk_back.16MiB"),
    ),
]


#: the targets compared across browsers: how far the bridge is from its floor in Firefox, over
#: how far it is in Chromium (issue 11: at most 1.5); a ">=" ratio's distance is its inverse.
#: Against a floor (every target here but the WebSocket's, which compares two transports) the
#: distance is at least 1: a figure past its floor (a ratio under 1, a share over 1) means the
#: floor's own samples were slow, and no bridge is closer to its floor than at it
CROSS_BROWSER_LIMIT = 1.5
CROSS_BROWSER: list[str] = [
    "call_sync.sab / raw.sab_sync",
    "ws.small / call_sync.sab",
    "await_call.isolated / await_floor.isolated",
    "kcall.isolated / raw.postmessage",
    "raw.sab_bulk.16MiB / bulk.sab.one_way.16MiB",
    "call_sync.jspi / await_floor.plain",
    "start.with / start.without",
]
#: the one target of :data:`CROSS_BROWSER` that is not measured against a floor
CROSS_BROWSER_UNFLOORED = frozenset({"ws.small / call_sync.sab"})


def ratio_value(ratio: Ratio, figures: Mapping[str, Figure]) -> float | None:
    """The ratio's value for one repetition, or None if a figure is missing."""
    num, den = figures.get(ratio.numerator), figures.get(ratio.denominator)
    if num is None or den is None:
        return None
    return num.p50_s / den.p50_s


def verdict(op: str, value: float | None, limit: float) -> str:
    """``"PASS"``, ``"MISS"``, or ``"n/a"`` (figure missing)."""
    if value is None:
        return "n/a"
    return "PASS" if _OPS[op](value, limit) else "MISS"


def evaluate(reps: Sequence[Mapping[str, Figure]]) -> dict[str, Any]:
    """Ratios and targets of every repetition.

    Returns
    -------
    dict
        ``{"ratios": [...], "targets": [...]}``: each ratio with its value per repetition, and
        each target with its value and verdict per repetition and ``overall`` (PASS only if
        every repetition passed; n/a when no repetition has the figure).
    """
    ratios = []
    targets = []
    for ratio in RATIOS:
        values = [ratio_value(ratio, figures) for figures in reps]
        entry: dict[str, Any] = {"name": ratio.name, "label": ratio.label, "values": values}
        ratios.append(entry)
        if ratio.op is not None and ratio.limit is not None:
            targets.append(_target(ratio.name, ratio.label, ratio.op, ratio.limit, values))
    for floor in FLOORS:
        mbs = [_mb(figures.get(floor.figure)) for figures in reps]
        targets.append(_target(floor.name, floor.label, ">=", floor.limit_mb_per_s, mbs))
    for target in targets:
        bound = next((b for b in BOUNDS if b.target == target["name"]), None)
        if bound is not None:
            target["bound"] = _bound_entry(bound, target, reps)
    return {"ratios": ratios, "targets": targets}


def _bound_entry(bound: Bound, target: Mapping[str, Any], reps: Sequence[Mapping[str, Figure]]) -> dict[str, Any]:
    """The bound of ``target`` per repetition.

    ``reachable`` is False when the bound misses the target in every repetition and the target
    was not met in any either (a target met is reachable, whatever its floors said); ``beaten``
    lists the repetitions (1-based) whose figure did better than its bound: a floor measured
    slower than the bridge, from noise (Chromium's 16 MiB transfers take 7-9 ms or 15-24 ms,
    bench/README.md, twelfth round) or a floor that is not one.
    """
    return _bound_summary(bound.label, [bound.value(figures) for figures in reps], target)


def _bound_summary(label: str, values: list[float | None], target: Mapping[str, Any]) -> dict[str, Any]:
    """A bound's entry: ``values`` per repetition, ``reachable`` and ``beaten`` for ``target``.

    ``target`` is a :func:`_target` entry (``op``, ``limit``, ``values``, ``verdicts``).
    """
    op = target["op"]
    measured = [v for v in (verdict(op, value, target["limit"]) for value in values) if v != "n/a"]
    met = any(v == "PASS" for v in target["verdicts"])
    beaten = [
        rep + 1
        for rep, (value, figure) in enumerate(zip(values, target["values"], strict=False))
        if value is not None and figure is not None and (figure < value if op == "<=" else figure > value)
    ]
    return {
        "label": label,
        "values": values,
        "reachable": None if not measured else met or any(v == "PASS" for v in measured),
        "beaten": beaten,
    }


def _mb(figure: Figure | None) -> float | None:
    return None if figure is None else figure.mb_per_s


def _target(name: str, label: str, op: str, limit: float, values: list[float | None]) -> dict[str, Any]:
    verdicts = [verdict(op, value, limit) for value in values]
    overall = "PASS" if verdicts and all(v == "PASS" for v in verdicts) else "MISS"
    if verdicts and all(v == "n/a" for v in verdicts):
        overall = "n/a"  # not measured in this browser (embed and window figures: Chromium only)
    return {
        "name": name,
        "label": label,
        "op": op,
        "limit": limit,
        "values": values,
        "verdicts": verdicts,
        "overall": overall,
    }


def cross_browser(chromium: Mapping[str, Any], firefox: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Distance from the floor in Firefox over the distance in Chromium, per target and repetition.

    Parameters
    ----------
    chromium, firefox : mapping
        :func:`evaluate` results of each browser (same number of repetitions or fewer).

    Returns
    -------
    list of dict
        Per target of :data:`CROSS_BROWSER`: ``values`` (one per repetition, None when a figure
        is missing in either browser; each browser's distance from a floor counted as at least
        1), ``verdicts`` and ``overall`` against
        :data:`CROSS_BROWSER_LIMIT`; and ``bound`` where Firefox's target has one: Firefox's
        best possible distance over Chromium's measured one, per repetition (as
        :func:`evaluate`'s bounds: ``values``, ``reachable``, ``beaten``). Chromium's side is
        what its bridge did: a Chromium bridge closer to its floor only makes the ratio larger.
    """
    by_name = {t["name"]: t for t in chromium["targets"]}
    ff_by_name = {t["name"]: t for t in firefox["targets"]}
    out = []
    for name in CROSS_BROWSER:
        c, f = by_name.get(name), ff_by_name.get(name)
        if c is None or f is None:
            continue
        floored = name not in CROSS_BROWSER_UNFLOORED
        values = [_distance_ratio(c["op"], cv, fv, floored) for cv, fv in zip(c["values"], f["values"], strict=False)]
        entry = _target(name, c["label"], "<=", CROSS_BROWSER_LIMIT, values)
        entry["label"] = f"{c['label']}: distance in Firefox / in Chromium"
        if "bound" in f:
            best = [
                _distance_ratio(c["op"], cv, fv, floored)
                for cv, fv in zip(c["values"], f["bound"]["values"], strict=False)
            ]
            label = f"Firefox's best possible here over Chromium's distance as measured ({f['bound']['label']})"
            entry["bound"] = _bound_summary(label, best, entry)
        out.append(entry)
    return out


def _distance_ratio(op: str, chromium: float | None, firefox: float | None, floored: bool) -> float | None:
    """Firefox's distance from its floor over Chromium's, for one repetition (None if either is missing).

    A ``>=`` target's distance is its inverse; against a floor a distance counts as at least 1.
    """
    if chromium is None or firefox is None:
        return None
    c_far, f_far = (chromium, firefox) if op == "<=" else (1 / chromium, 1 / firefox)
    if floored:
        c_far, f_far = max(1.0, c_far), max(1.0, f_far)
    return f_far / c_far


#: the pieces of one call_sync (sab), in the order they run: (key, what)
BREAKDOWN: list[tuple[str, str]] = [
    ("profile.parts.checks", "Python: link lookup, transport, timeout check, label"),
    ("profile.parts.encode", "Python: id, method-name check, envelope, encode_envelope"),
    ("ffi", "link - helper: one FFI call (~1 us alone) + the page sleeping deeper when Python paces the calls"),
    ("profile.parts.worker_frame", "worker: frame write + answer read (JS, measured on the page as frame copies)"),
    ("signal", "cross-thread: STATE store/notify, page wake-up, answer notify, worker wake-up (rest of helper)"),
    ("profile.page.serve", "page: serveSync + run (parse, lookup, decode, this-proxy, handler, encode)"),
    ("profile.page.frame_io", "page: request copy-out + TextDecoder, answer TextEncoder + copy-in"),
    ("profile.parts.decode", "Python: decode_envelope + id/kind checks"),
    ("rest", "full - the sum: more of the same (longer gaps between calls: later wake-ups), GC"),
]


def _p50(figures: Mapping[str, Figure], key: str) -> float | None:
    """The p50 of figure ``key`` in seconds, or None when it was not measured."""
    figure = figures.get(key)
    return None if figure is None else figure.p50_s


def _diff(first: float | None, *others: float | None) -> float | None:
    """``first`` minus ``others``, or None when any of them is None (a missing figure)."""
    if first is None or any(other is None for other in others):
        return None
    return first - sum(other for other in others if other is not None)


def breakdown(figures: Mapping[str, Figure]) -> list[tuple[str, str, float | None]]:
    """One ``call_sync`` (sab) in pieces (seconds, p50 of each piece timed alone).

    The pieces are measured separately (``profile_call_sync_parts`` in the kernel,
    ``page_serve.js`` on the page); derived ones are differences: ``ffi`` = ``link`` -
    ``helper``, ``signal`` = ``helper`` - page serve - page frame copies - worker frame copies,
    ``rest`` = ``full`` - every other piece. Returns ``(key, what, seconds)`` rows, then
    ``("full", ..., seconds)`` and ``("full_nogc", ..., seconds)``; None where a figure is
    missing.
    """

    def p50(key: str) -> float | None:
        return _p50(figures, key)

    full, link, helper = p50("profile.parts.full"), p50("profile.parts.link"), p50("profile.parts.helper")
    serve, frame_io = p50("profile.page.serve"), p50("profile.page.frame_io")
    values: dict[str, float | None] = {key: p50(key) for key, _ in BREAKDOWN}
    values["profile.parts.worker_frame"] = frame_io  # the same copies, mirrored, in the worker
    values["ffi"] = _diff(link, helper)
    values["signal"] = _diff(helper, serve, frame_io, frame_io)
    known = [values[key] for key, _ in BREAKDOWN if key != "rest"]
    if full is not None and None not in known:
        values["rest"] = full - sum(v for v in known if v is not None)
    rows = [(key, what, values[key]) for key, what in BREAKDOWN]
    rows.append(("full", "page.call_sync, timed as a whole in the same kernel", full))
    rows.append(("full_nogc", "the same, Python's garbage collector off", p50("profile.parts.full_nogc")))
    return rows


#: the pieces of one page -> Python k.call on its critical path, in the order they run; they
#: add up to ``full``: (key, what)
KCALL_BREAKDOWN: list[tuple[str, str]] = [
    ("profile.kcall.send", "page: KernelBridge.invoke up to the port (checks, encode, stringify, pending)"),
    ("raw.postmessage", "floor: postMessage round trip page -> empty worker -> page (both hops, wake-ups)"),
    ("worker_min", "port_min - floor: the kernel's worker answering with least work (onmessage, FFI in, a post)"),
    ("python", "port - port_min: the bridge's Python serving the call (decode, route, bench.echo, encode)"),
    ("profile.kcall.settle", "page: the answer's onFrame + promise chain to the caller's await"),
    ("rest", "full - send - settle - port: what the pieces timed alone do not show"),
]
#: the worker's pieces timed in loops inside the kernel (hot, back to back): they show what
#: ``python`` is made of, but are not on the critical path as such: (key, what)
KCALL_DETAIL: list[tuple[str, str]] = [
    ("profile.kcall.deliver", "loop: the helper's frame receiver called from JS (FFI in + serve)"),
    ("profile.kcall.serve", "loop: Page._on_frame (decode, route, bench.echo, encode, post)"),
    ("profile.kcall.serve_nopost", "loop: the same with the post a no-op"),
    ("profile.kcall.decode", "loop: decode_envelope of the request"),
    ("profile.kcall.invoke", "loop: Registry.invoke (name check, lookup, bench.echo, answer_result)"),
    ("route", "serve_nopost - decode - invoke: Page._on_frame's routing, checks, output mark"),
    ("profile.kcall.post", "loop: PyodideLink.post alone, back to back (FFI out + postMessage)"),
    ("post_paced", "serve - serve_nopost - post: a post after Python's work (wakes the page) vs back to back"),
    ("ffi_in", "deliver - serve: the JS -> Python call of the frame receiver"),
]


def kcall_breakdown(figures: Mapping[str, Figure]) -> list[tuple[str, str, float | None]]:
    """One page -> Python ``k.call`` in pieces (seconds, p50 of each piece timed alone).

    Measured: ``profile.kcall.*`` (``kcall_parts.js`` on the page, ``profile_kcall_parts`` in
    the kernel) and the ``raw.postmessage`` floor. Derived: ``worker_min`` = ``port_min`` -
    ``raw.postmessage``; ``python`` = ``port`` - ``port_min``; ``rest`` = ``full`` - ``send``
    - ``settle`` - ``port``; so the rows of :data:`KCALL_BREAKDOWN` add up to ``full``. Then
    the row ``full``, then the rows of :data:`KCALL_DETAIL` (``route`` = ``serve_nopost`` -
    ``decode`` - ``invoke``; ``post_paced`` = ``serve`` - ``serve_nopost`` - ``post``;
    ``ffi_in`` = ``deliver`` - ``serve``). Returns ``(key, what, seconds)`` rows; None where a
    figure is missing.
    """

    def p50(key: str) -> float | None:
        return _p50(figures, key)

    diff = _diff
    m = {
        key: p50(f"profile.kcall.{key}")
        for key in (
            "full",
            "send",
            "settle",
            "port",
            "port_min",
            "deliver",
            "serve",
            "serve_nopost",
            "decode",
            "invoke",
            "post",
        )
    }
    values: dict[str, float | None] = {key: p50(key) for key, _ in KCALL_BREAKDOWN + KCALL_DETAIL}
    values["worker_min"] = diff(m["port_min"], p50("raw.postmessage"))
    values["python"] = diff(m["port"], m["port_min"])
    values["rest"] = diff(m["full"], m["send"], m["settle"], m["port"])
    values["route"] = diff(m["serve_nopost"], m["decode"], m["invoke"])
    values["post_paced"] = diff(m["serve"], m["serve_nopost"], m["post"])
    values["ffi_in"] = diff(m["deliver"], m["serve"])
    rows = [(key, what, values[key]) for key, what in KCALL_BREAKDOWN]
    rows.append(("full", "await k.call, timed as a whole in the same page script", m["full"]))
    rows += [(key, what, values[key]) for key, what in KCALL_DETAIL]
    return rows


def breakdown_table(
    reps: Sequence[Mapping[str, Figure]],
    pieces: Callable[[Mapping[str, Figure]], list[tuple[str, str, float | None]]] = breakdown,
) -> tuple[list[str], list[list[str]]]:
    """``pieces`` (:func:`breakdown` or :func:`kcall_breakdown`) of every repetition as a table.

    Microseconds and share of the row ``full``, per repetition.
    """
    header = ["piece", "what"]
    for index in range(len(reps)):
        header += [f"run {index + 1} us", f"run {index + 1} share"]
    per_rep = [pieces(figures) for figures in reps]
    fulls = [{key: value for key, _, value in rep_rows}["full"] for rep_rows in per_rep]
    rows = []
    for i, (key, what, _) in enumerate(per_rep[0] if per_rep else []):
        row = [key, what]
        for rep_rows, full in zip(per_rep, fulls, strict=True):
            value = rep_rows[i][2]
            row += ["-" if value is None else f"{value * 1e6:.1f}"]
            row += ["-" if value is None or not full else f"{value / full:.0%}"]
        rows.append(row)
    return header, rows


# --- rendering ---------------------------------------------------------------------------------


def _fmt_time(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def _fmt_figure(figure: Figure | None) -> list[str]:
    if figure is None:
        return ["-", "-", "-"]
    if figure.nbytes is not None and figure.mb_per_s is not None and figure.mb_per_s_p95 is not None:
        return [f"{figure.mb_per_s:,.0f} MB/s", f"{figure.mb_per_s_p95:,.0f} MB/s", str(figure.n)]
    return [_fmt_time(figure.p50_s), _fmt_time(figure.p95_s), str(figure.n)]


def _fmt_value(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}x" if value < 1000 else f"{value:,.0f}x"


def _fmt_target_value(value: float | None, throughput: bool) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f} MB/s" if throughput else _fmt_value(value)


def format_bound(bound: Mapping[str, Any] | None, throughput: bool) -> str:
    """``"1.6x / 1.9x: out of reach"``: the bound per repetition, and whether it meets the target."""
    if bound is None:
        return ""
    values = " / ".join(_fmt_target_value(v, throughput) for v in bound["values"])
    if bound["reachable"] is None:
        return values
    text = f"{values}: {'reachable' if bound['reachable'] else 'out of reach'}"
    beaten = bound.get("beaten") or []
    if beaten:
        text += f" (the figure beat its floors in run {', '.join(str(rep) for rep in beaten)})"
    return text


def tables(
    reps: Sequence[Mapping[str, Figure]], evaluation: Mapping[str, Any]
) -> list[tuple[list[str], list[list[str]]]]:
    """The report as tables: figures, ratios, targets. Each is ``(header, rows)``."""
    names: list[str] = []
    for figures in reps:
        names.extend(name for name in figures if name not in names)
    header = ["figure", "what"]
    for index in range(len(reps)):
        header += [f"run {index + 1} p50", f"run {index + 1} p95", "n"]
    rows = []
    for name in names:
        label = next(figures[name].label for figures in reps if name in figures)
        row = [name, label]
        for figures in reps:
            row += _fmt_figure(figures.get(name))
        rows.append(row)
    ratio_header = ["ratio (p50 / p50)", "what"] + [f"run {i + 1}" for i in range(len(reps))] + ["target"]
    ratio_rows = []
    for entry in evaluation["ratios"]:
        spec = next(r for r in RATIOS if r.name == entry["name"])
        target = f"{spec.op} {spec.limit:g}" if spec.op is not None else ""
        ratio_rows.append([entry["name"], entry["label"], *[_fmt_value(v) for v in entry["values"]], target])
    target_header = ["target", *[f"run {i + 1}" for i in range(len(reps))], "verdict", "best possible here"]
    target_rows = []
    for entry in evaluation["targets"]:
        throughput = entry["name"].endswith("MB/s")
        cells = [
            f"{_fmt_target_value(v, throughput)} {verdict}"
            for v, verdict in zip(entry["values"], entry["verdicts"], strict=True)
        ]
        label = f"{entry['label']} ({entry['op']} {entry['limit']:g})"
        target_rows.append([label, *cells, entry["overall"], format_bound(entry.get("bound"), throughput)])
    return [(header, rows), (ratio_header, ratio_rows), (target_header, target_rows)]


def render_text(table: tuple[list[str], list[list[str]]]) -> str:
    """A fixed-width text table."""
    header, rows = table
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * width for width in widths))
    lines.extend("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows)
    return "\n".join(lines)


def render_markdown(table: tuple[list[str], list[list[str]]]) -> str:
    """A Markdown (GitHub) table."""
    header, rows = table
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows)
    return "\n".join(lines)
