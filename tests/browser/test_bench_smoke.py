"""Smoke run of the benchmark (``python -m bench --tiny``): every figure, ratio and verdict is produced.

Tiny counts, one repetition: the figures are meaningless as measurements and nothing here
checks a timing. It runs the real benchmark end to end (both servings of the built site, the
copy without litebridge, the aiohttp WebSocket server, Debian's chromium, then Debian's
firefox-esr through the puppeteer-core sidecar) in a subprocess, so that its own Playwright
instance does not clash with pytest-playwright's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(1000)

#: every figure of one repetition; a figure that silently disappears fails the test
EXPECTED_FIGURES = [
    "start.with",
    "start.without",
    "start.embed",
    "start.embed.call",
    "start.embed.app",
    "start.embed.kernel",
    "import_litebridge",
    "raw.sab_sync",
    "raw.postmessage",
    "raw.sab_sync.gap40us",
    "raw.sab_bulk.16MiB",
    "raw.sab_bulk_back.16MiB",
    "profile.await.no_timeout",
    "profile.await.port_min",
    "profile.await.lean",
    "profile.jspi.port_min",
    "call_sync.sab",
    "call_sync.jspi",
    "await_floor.isolated",
    "await_floor.plain",
    "await_call.isolated",
    "await_call.plain",
    "kcall.isolated",
    "kcall.plain",
    "comm.isolated",
    "ws.small",
    "ws.bulk.one_way.16MiB",
    "ws.bulk.round_trip.16MiB",
    *(
        f"bulk.{kind}.{size}"
        for kind in ("sab.one_way", "sab.round_trip", "await.round_trip", "jspi.round_trip")
        for size in ("1KiB", "64KiB", "1MiB", "16MiB")
    ),
    "profile.sab.encode",
    "profile.sab.sab",
    "profile.sab.decode",
    "profile.sab.ffi",
    *(
        f"window.{kind}.{transport}"
        for kind in ("call_sync", "title_path", "title_read", "method_call", "callback")
        for transport in ("sab", "jspi")
    ),
    *(
        f"profile.parts.{part}"
        for part in ("full", "full_nogc", "checks", "encode", "link", "helper", "decode", "clock")
    ),
    *(f"profile.page.{part}" for part in ("serve", "frame_io", "proxy")),
    *(f"warmup.{key}" for key in ("call_sync.sab", "await_call.isolated", "kcall.isolated", "call_sync.jspi")),
    *(
        f"profile.kcall.{part}"
        for part in (
            *("full", "send", "settle", "port", "port_min", "deliver"),
            *("serve", "serve_nopost", "decode", "invoke", "post"),
        )
    ),
]
#: what Firefox does not measure: the embed() starts, the comm and the window figures (kept short)
NOT_IN_FIREFOX = {"start.embed", "start.embed.call", "start.embed.app", "start.embed.kernel", "comm.isolated"} | {
    name for name in EXPECTED_FIGURES if name.startswith("window.")
}
#: the issue's targets, each with a verdict
EXPECTED_TARGETS = [
    "call_sync.sab / raw.sab_sync",
    "ws.small / call_sync.sab",
    "await_call.isolated / await_floor.isolated",
    "kcall.isolated / raw.postmessage",
    "raw.sab_bulk.16MiB / bulk.sab.one_way.16MiB",
    "call_sync.jspi / await_floor.plain",
    "start.with / start.without",
    "ws.bulk.one_way.16MiB / bulk.sab.one_way.16MiB",
    "start.embed / start.with",
    "bulk.sab.one_way.16MiB MB/s",
    "window.title_read.sab / window.call_sync.sab",
    "bulk.sab.round_trip.16MiB MB/s",
]


@pytest.fixture(scope="module")
def smoke_results(site_dir: Path, repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run ``python -m bench --tiny --reps 1`` into a temporary directory; return its JSON."""
    out = tmp_path_factory.mktemp("bench")
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny", "--reps", "1", "--site", str(site_dir), "--out", str(out)],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, f"bench failed:\n{completed.stdout[-5000:]}\n{completed.stderr[-5000:]}"
    results: dict[str, Any] = json.loads((out / "latest.json").read_text())
    results["_markdown"] = (out / "latest.md").read_text()
    results["_stdout"] = completed.stdout
    return results


def test_every_figure_is_produced_and_positive(smoke_results: dict[str, Any]) -> None:
    (rep,) = smoke_results["reps"]
    missing = [name for name in EXPECTED_FIGURES if name not in rep]
    assert not missing, f"figures missing: {missing}"
    for name in EXPECTED_FIGURES:
        figure = rep[name]
        assert figure["n"] >= 1, name
        assert len(figure["samples_s"]) == figure["n"], name
        assert all(sample > 0 for sample in figure["samples_s"]), name
        assert 0 < figure["p50_s"] <= figure["p95_s"], name
        if name.startswith(("bulk.", "ws.bulk.", "raw.sab_bulk.")):
            assert figure["mb_per_s"] > 0, name


def test_firefox_produces_its_figures_and_the_cross_browser_verdicts(smoke_results: dict[str, Any]) -> None:
    assert smoke_results["browsers"] == ["chromium", "firefox"]
    assert smoke_results["versions"].get("firefox")
    (rep,) = smoke_results["firefox"]["reps"]
    missing = [name for name in EXPECTED_FIGURES if name not in NOT_IN_FIREFOX and name not in rep]
    assert not missing, f"Firefox figures missing: {missing}"
    for name, figure in rep.items():
        assert 0 < figure["p50_s"] <= figure["p95_s"], name
    targets = {target["name"]: target for target in smoke_results["firefox"]["targets"]}
    assert sorted(targets) == sorted(EXPECTED_TARGETS)
    cross = {entry["name"]: entry for entry in smoke_results["cross_browser"]}
    assert "call_sync.sab / raw.sab_sync" in cross
    for entry in cross.values():
        (verdict,) = entry["verdicts"]
        assert verdict in ("PASS", "MISS"), entry
    assert "Firefox" in smoke_results["_markdown"]
    assert "one call_sync (sab) accounted for" in smoke_results["_markdown"]
    assert "Firefox: one page -> Python k.call accounted for" in smoke_results["_markdown"]


def test_every_ratio_and_target_has_a_value(smoke_results: dict[str, Any]) -> None:
    for ratio in smoke_results["ratios"]:
        (value,) = ratio["values"]
        assert value is not None, ratio["name"]
        assert value > 0, ratio["name"]
    targets = {target["name"]: target for target in smoke_results["targets"]}
    assert sorted(targets) == sorted(EXPECTED_TARGETS)
    for target in targets.values():
        assert target["verdicts"] in (["PASS"], ["MISS"]), target
        assert target["overall"] in ("PASS", "MISS")


def test_machine_and_versions_are_recorded(smoke_results: dict[str, Any]) -> None:
    machine = smoke_results["machine"]
    assert machine["cpu"]
    assert machine["cores"] >= 1
    versions = smoke_results["versions"]
    for key in ("chromium", "pyodide", "python_in_kernel", "jupyterlite", "litebridge"):
        assert versions.get(key), key
    assert smoke_results["date"]


def test_the_run_stayed_offline(smoke_results: dict[str, Any]) -> None:
    assert smoke_results["blocked_requests"] == []


def test_tables_are_printed_and_written(smoke_results: dict[str, Any]) -> None:
    for text in (smoke_results["_stdout"], smoke_results["_markdown"]):
        for name in ("call_sync.sab", "ws.small", "start.with / start.without"):
            assert name in text
        assert "PASS" in text or "MISS" in text


# --- the benchmark's pure logic (no browser) ---------------------------------------------------


@pytest.fixture(scope="module")
def bench_modules(repo_root: Path) -> Any:
    """``bench.stats`` and ``bench.report`` (the repository root on ``sys.path``)."""
    if str(repo_root) not in sys.path:
        sys.path.insert(0, str(repo_root))
    from bench import report, stats

    return stats, report


def test_percentiles_interpolate_between_ranks(bench_modules: Any) -> None:
    stats, _ = bench_modules
    values = [10.0, 1.0, 9.0, 2.0, 8.0, 3.0, 7.0, 4.0, 6.0, 5.0]
    assert stats.percentile(values, 50) == pytest.approx(5.5)
    assert stats.percentile(values, 95) == pytest.approx(9.55)
    assert stats.percentile(values, 0) == 1.0
    assert stats.percentile(values, 100) == 10.0
    assert stats.percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError, match="no samples"):
        stats.percentile([], 50)


def test_figures_refuse_empty_or_non_positive_samples(bench_modules: Any) -> None:
    stats, _ = bench_modules
    with pytest.raises(ValueError, match="no samples"):
        stats.make_figure("x", "x", [])
    with pytest.raises(ValueError, match="positive"):
        stats.make_figure("x", "x", [1e-6, 0.0])
    figure = stats.make_figure("bulk", "bulk", [0.004, 0.002, 0.003], nbytes=4_000_000)
    assert (figure.p50_s, figure.n) == (0.003, 3)
    assert figure.mb_per_s == pytest.approx(4_000_000 / 0.003 / 1e6)
    assert figure.mb_per_s_p95 < figure.mb_per_s


def test_targets_pass_only_when_every_repetition_passes(bench_modules: Any) -> None:
    stats, report = bench_modules

    def rep(call_us: float, floor_us: float) -> dict[str, Any]:
        return {
            "call_sync.sab": stats.make_figure("call_sync.sab", "", [call_us * 1e-6]),
            "raw.sab_sync": stats.make_figure("raw.sab_sync", "", [floor_us * 1e-6]),
        }

    evaluation = report.evaluate([rep(50, 20), rep(60, 20)])  # 2.5x (limit is inclusive), then 3x
    target = next(t for t in evaluation["targets"] if t["name"] == "call_sync.sab / raw.sab_sync")
    assert target["values"] == [pytest.approx(2.5), pytest.approx(3.0)]
    assert target["verdicts"] == ["PASS", "MISS"]
    assert target["overall"] == "MISS"
    missing = next(t for t in evaluation["targets"] if t["name"] == "start.with / start.without")
    assert missing["verdicts"] == ["n/a", "n/a"]
    assert missing["overall"] == "n/a"  # not measured (as the embed and window figures in Firefox)
    half = report.evaluate([rep(50, 20), {}])
    target = next(t for t in half["targets"] if t["name"] == "call_sync.sab / raw.sab_sync")
    assert (target["verdicts"], target["overall"]) == (["PASS", "n/a"], "MISS")


def test_cross_browser_distance_is_firefox_over_chromium(bench_modules: Any) -> None:
    stats, report = bench_modules

    def rep(call_us: float, floor_us: float, ws_us: float) -> dict[str, Any]:
        return {
            "call_sync.sab": stats.make_figure("call_sync.sab", "", [call_us * 1e-6]),
            "raw.sab_sync": stats.make_figure("raw.sab_sync", "", [floor_us * 1e-6]),
            "ws.small": stats.make_figure("ws.small", "", [ws_us * 1e-6]),
        }

    chromium = report.evaluate([rep(60, 20, 600)])  # 3x the floor; the WebSocket is 10x slower
    firefox = report.evaluate([rep(80, 20, 400)])  # 4x the floor; the WebSocket is 5x slower
    cross = {entry["name"]: entry for entry in report.cross_browser(chromium, firefox)}
    assert cross["call_sync.sab / raw.sab_sync"]["values"] == [pytest.approx(4 / 3)]
    assert cross["call_sync.sab / raw.sab_sync"]["verdicts"] == ["PASS"]
    assert cross["ws.small / call_sync.sab"]["values"] == [pytest.approx(2.0)]  # 10x / 5x: twice as far
    assert cross["ws.small / call_sync.sab"]["verdicts"] == ["MISS"]
    assert cross["await_call.isolated / await_floor.isolated"]["verdicts"] == ["n/a"]
    # a figure past its floor (the floor's samples were slow) counts as at the floor: distance 1
    chromium = report.evaluate([rep(18, 20, 600)])  # 0.9x the floor
    firefox = report.evaluate([rep(28, 20, 280)])  # 1.4x the floor
    cross = {entry["name"]: entry for entry in report.cross_browser(chromium, firefox)}
    assert cross["call_sync.sab / raw.sab_sync"]["values"] == [pytest.approx(1.4)]  # not 1.4 / 0.9
    assert cross["call_sync.sab / raw.sab_sync"]["verdicts"] == ["PASS"]
    assert cross["ws.small / call_sync.sab"]["values"] == [pytest.approx((600 / 18) / (280 / 28))]  # not capped
    no_floors = cross["call_sync.sab / raw.sab_sync"]["bound"]  # Firefox's bound needs its floors
    assert no_floors["values"] == [None]
    assert no_floors["reachable"] is None
    assert report.format_bound(no_floors, False) == "-"


def test_cross_browser_bound_is_firefox_at_its_floors_over_chromium_as_measured(bench_modules: Any) -> None:
    stats, report = bench_modules

    def rep(call_us: float, floor_us: float, gap_us: float, ws_us: float) -> dict[str, Any]:
        return _figures_us(
            stats,
            {
                "call_sync.sab": call_us,
                "raw.sab_sync": floor_us,
                "raw.sab_sync.gap40us": gap_us,
                "profile.parts.checks": 1.0,
                "profile.parts.encode": 6.0,
                "profile.parts.decode": 3.0,
                "ws.small": ws_us,
            },
        )

    chromium = report.evaluate([rep(30, 20, 25, 330), rep(30, 20, 25, 330)])  # 1.5x its floor; WS 11x
    # Firefox: a 10 us floor back to back, 20 us with work between calls: at best (20 + 10) / 10 = 3x
    firefox = report.evaluate([rep(36, 10, 20, 200), rep(36, 40, 20, 200)])
    cross = {entry["name"]: entry for entry in report.cross_browser(chromium, firefox)}
    sab = cross["call_sync.sab / raw.sab_sync"]
    assert sab["values"] == [pytest.approx(3.6 / 1.5), pytest.approx(1.0 / 1.5)]
    assert sab["verdicts"] == ["MISS", "PASS"]
    # run 1: even at its floors Firefox would be 3 / 1.5 = 2x further; run 2 met it
    assert sab["bound"]["values"] == [pytest.approx(2.0), pytest.approx(1.0 / 1.5)]
    assert sab["bound"]["reachable"] is True  # met in run 2
    ws = cross["ws.small / call_sync.sab"]
    # Firefox's best: the WebSocket over its least call (30 us): 6.67x, against Chromium's 11x
    assert ws["bound"]["values"] == [pytest.approx(11 / (200 / 30))] * 2
    assert ws["verdicts"] == ["MISS", "MISS"]
    assert ws["bound"]["reachable"] is False  # 1.65 > 1.5 in both
    assert report.format_bound(ws["bound"], False) == "1.65x / 1.65x: out of reach"


def _figures_us(stats: Any, us: dict[str, float]) -> dict[str, Any]:
    """One-sample figures from p50s in microseconds."""
    return {key: stats.make_figure(key, "", [value * 1e-6]) for key, value in us.items()}


def _rows(pieces: Any, figures: dict[str, Any]) -> dict[str, Any]:
    """``{key: seconds}`` of a breakdown (``report.breakdown`` or ``report.kcall_breakdown``)."""
    return {key: value for key, _, value in pieces(figures)}


def test_call_sync_breakdown_adds_up_to_the_whole(bench_modules: Any) -> None:
    stats, report = bench_modules
    us = {
        "profile.parts.full": 100.0,
        "profile.parts.checks": 1.0,
        "profile.parts.encode": 5.0,
        "profile.parts.link": 70.0,
        "profile.parts.helper": 60.0,
        "profile.parts.decode": 3.0,
        "profile.page.serve": 6.0,
        "profile.page.frame_io": 2.0,
    }
    figures = _figures_us(stats, us)
    rows = _rows(report.breakdown, figures)
    assert rows["ffi"] == pytest.approx(10e-6)
    assert rows["signal"] == pytest.approx(50e-6)  # helper - serve - 2 x frame copies
    assert rows["rest"] == pytest.approx(21e-6)  # full - checks - encode - link - decode
    pieces = [value for key, value in rows.items() if key not in ("full", "full_nogc")]
    assert sum(pieces) == pytest.approx(rows["full"])
    assert rows["full_nogc"] is None  # not measured here: shown as "-"
    _header, table_rows = report.breakdown_table([figures])
    full_row = next(row for row in table_rows if row[0] == "full")
    assert full_row[2:] == ["100.0", "100%"]


def test_kcall_breakdown_adds_up_to_the_whole(bench_modules: Any) -> None:
    stats, report = bench_modules
    us = {
        "profile.kcall.full": 400.0,
        "profile.kcall.send": 10.0,
        "profile.kcall.settle": 5.0,
        "profile.kcall.port": 350.0,
        "profile.kcall.port_min": 200.0,
        "profile.kcall.deliver": 80.0,
        "profile.kcall.serve": 60.0,
        "profile.kcall.serve_nopost": 40.0,
        "profile.kcall.decode": 8.0,
        "profile.kcall.invoke": 20.0,
        "profile.kcall.post": 12.0,
        "raw.postmessage": 150.0,
    }
    figures = _figures_us(stats, us)
    rows = _rows(report.kcall_breakdown, figures)
    assert rows["worker_min"] == pytest.approx(50e-6)  # port_min - floor
    assert rows["python"] == pytest.approx(150e-6)  # port - port_min
    assert rows["rest"] == pytest.approx(35e-6)  # full - send - settle - port
    path = [rows[key] for key, _ in report.KCALL_BREAKDOWN]
    assert sum(path) == pytest.approx(rows["full"])  # the critical path adds up to the whole
    assert rows["route"] == pytest.approx(12e-6)  # serve_nopost - decode - invoke
    assert rows["post_paced"] == pytest.approx(8e-6)  # serve - serve_nopost - post
    assert rows["ffi_in"] == pytest.approx(20e-6)  # deliver - serve
    del figures["profile.kcall.port_min"]
    rows = _rows(report.kcall_breakdown, figures)
    assert rows["worker_min"] is None  # shown as "-"
    assert rows["python"] is None
    assert rows["rest"] == pytest.approx(35e-6)
    _header, table_rows = report.breakdown_table([figures], report.kcall_breakdown)
    full_row = next(row for row in table_rows if row[0] == "full")
    assert full_row[2:] == ["400.0", "100%"]
    assert next(row for row in table_rows if row[0] == "python")[2:] == ["-", "-"]


def test_warmup_blocks_run_first_and_stay_out_of_the_counted_samples(repo_root: Path) -> None:
    if str(repo_root) not in sys.path:
        sys.path.insert(0, str(repo_root))
    from bench import runner

    calls: list[int] = []

    def block() -> dict[str, list[float]]:
        calls.append(len(calls) + 1)
        return {"f": [float(calls[-1])], "g": [10.0 * calls[-1]]}

    counted, warm = runner.collect_blocks(block, blocks=3, warmup_blocks=2)
    assert calls == [1, 2, 3, 4, 5]
    assert warm == {"f": [1.0, 2.0], "g": [10.0, 20.0]}
    assert counted == {"f": [3.0, 4.0, 5.0], "g": [30.0, 40.0, 50.0]}
    assert runner.collect_blocks(block, blocks=1, warmup_blocks=0)[1] == {}
    assert runner.FULL.warmup_blocks >= 1  # the full run measures its targets after a warm-up


def test_warmup_starts_run_first_per_variant_and_stay_out_of_the_start_figures(
    repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if str(repo_root) not in sys.path:
        sys.path.insert(0, str(repo_root))
    import dataclasses

    from bench import runner

    started: list[str] = []

    def fake_start(run: Any, server: str) -> float:
        started.append(server)
        return float(len(started))

    monkeypatch.setattr(runner, "first_output_s", fake_start)
    monkeypatch.setattr(runner, "log", lambda message: None)
    counts = dataclasses.replace(runner.TINY, start_runs=2, start_warmup=1)
    run = runner.Run(
        browser=None,  # type: ignore[arg-type]
        counts=counts,
        isolated="with-site",  # type: ignore[arg-type]
        plain=None,  # type: ignore[arg-type]
        without="without-site",  # type: ignore[arg-type]
        websocket=None,  # type: ignore[arg-type]
    )
    figures: dict[str, Any] = {}
    runner.measure_start(run, 0, figures)
    assert started == ["with-site", "without-site"] * 3
    assert figures["warmup.start.with"].samples_s == [1.0]
    assert figures["warmup.start.without"].samples_s == [2.0]
    assert figures["start.with"].samples_s == [3.0, 5.0]
    assert figures["start.without"].samples_s == [4.0, 6.0]
    started.clear()
    figures.clear()
    runner.measure_start(run, 1, figures)  # the second repetition starts the other variant first
    assert started == ["without-site", "with-site"] * 3
    assert figures["start.without"].samples_s == [3.0, 5.0]
    assert runner.FULL.start_warmup >= 1


def test_bounds_say_when_a_target_is_out_of_reach_from_the_floors(bench_modules: Any) -> None:
    stats, report = bench_modules

    def fig(key: str, seconds: float, nbytes: int | None = None) -> Any:
        return stats.make_figure(key, "", [seconds], nbytes=nbytes)

    mib16 = 16 * 1024 * 1024
    rep = {
        "await_floor.isolated": fig("await_floor.isolated", 200e-6),
        "raw.postmessage": fig("raw.postmessage", 150e-6),
        "profile.await.port_min": fig("profile.await.port_min", 250e-6),  # no bridge code: not the bound
        "profile.await.lean": fig("profile.await.lean", 310e-6),
        "await_call.isolated": fig("await_call.isolated", 500e-6),
        "raw.sab_bulk.16MiB": fig("raw.sab_bulk.16MiB", mib16 / 800e6, mib16),  # 800 MB/s
        "bulk.sab.one_way.16MiB": fig("bulk.sab.one_way.16MiB", mib16 / 600e6, mib16),
        "bulk.sab.round_trip.16MiB": fig("bulk.sab.round_trip.16MiB", mib16 / 300e6, mib16),
        "kcall.isolated": fig("kcall.isolated", 400e-6),
        "profile.kcall.port_min": fig("profile.kcall.port_min", 250e-6),
    }

    def check_bound(figures: dict[str, Any], target: str, value: float | None, reachable: bool | None) -> None:
        bound = {t["name"]: t for t in report.evaluate([figures])["targets"]}[target]["bound"]
        assert bound["values"] == [None if value is None else pytest.approx(value)], target
        assert bound["reachable"] is reachable, target

    targets = {t["name"]: t for t in report.evaluate([rep])["targets"]}
    # the least bridge round trip over the floor: 310 / 200 > 1.5 (no bridge code at all: 1.25)
    check_bound(rep, "await_call.isolated / await_floor.isolated", 1.55, False)
    check_bound(rep, "kcall.isolated / raw.postmessage", 250 / 150, True)  # under 2: the bridge could meet it
    check_bound(rep, "bulk.sab.one_way.16MiB MB/s", 800.0, False)
    # a figure that beats its floors: the target met is reachable, and the run is named
    fast = {**rep, "bulk.sab.one_way.16MiB": fig("bulk.sab.one_way.16MiB", mib16 / 1600e6, mib16)}
    check_bound(fast, "bulk.sab.one_way.16MiB MB/s", 800.0, True)
    fast_target = {t["name"]: t for t in report.evaluate([rep, fast])["targets"]}["bulk.sab.one_way.16MiB MB/s"]
    assert fast_target["bound"]["beaten"] == [2]
    assert fast_target["bound"]["reachable"] is True
    fast_rows = report.tables([rep, fast], report.evaluate([rep, fast]))[2][1]
    fast_row = next(r for r in fast_rows if r[0].startswith("16 MiB Python->page (sab) >="))
    assert fast_row[-1] == "800 MB/s / 800 MB/s: reachable (the figure beat its floors in run 2)"
    # the echo: there (800 MB/s) and back into a reused buffer (1600 MB/s), one after the other
    check_bound(rep, "bulk.sab.round_trip.16MiB MB/s", None, None)  # the way back is missing
    rep_back = {**rep, "raw.sab_bulk_back.16MiB": fig("raw.sab_bulk_back.16MiB", mib16 / 1600e6, mib16)}
    check_bound(rep_back, "bulk.sab.round_trip.16MiB MB/s", 1 / (1 / 800 + 1 / 1600), False)  # 533 < 1000
    check_bound(rep, "call_sync.jspi / await_floor.plain", None, None)  # its floors are missing
    # with its floors: the measured minimal jspi round trip over the plain page's await floor
    rep_jspi = {
        **rep,
        "await_floor.plain": fig("await_floor.plain", 200e-6),
        "call_sync.jspi": fig("call_sync.jspi", 600e-6),
        "profile.jspi.port_min": fig("profile.jspi.port_min", 420e-6),
    }
    check_bound(rep_jspi, "call_sync.jspi / await_floor.plain", 2.1, False)  # 420 / 200 > 2
    # call_sync (sab): the floor with the worker busy between calls, plus Python's least work
    check_bound(rep, "call_sync.sab / raw.sab_sync", None, None)  # its floors are missing
    assert "raw.sab_sync" not in rep
    rep_sab = {
        **rep,
        "raw.sab_sync": fig("raw.sab_sync", 10e-6),
        "raw.sab_sync.gap40us": fig("raw.sab_sync.gap40us", 21e-6),
        "profile.parts.checks": fig("profile.parts.checks", 1e-6),
        "profile.parts.encode": fig("profile.parts.encode", 6e-6),
        "profile.parts.decode": fig("profile.parts.decode", 2e-6),
        "call_sync.sab": fig("call_sync.sab", 50e-6),
        "ws.small": fig("ws.small", 200e-6),
    }
    check_bound(rep_sab, "call_sync.sab / raw.sab_sync", 3.0, False)  # (21 + 1 + 6 + 2) / 10 > 2.5
    check_bound(rep_sab, "ws.small / call_sync.sab", 200 / 30, True)  # 6.7x >= 5: the bridge could meet it
    slow_ws = {**rep_sab, "ws.small": fig("ws.small", 120e-6)}
    check_bound(slow_ws, "ws.small / call_sync.sab", 4.0, False)  # 120 / 30 < 5
    assert "bound" not in targets["start.with / start.without"]
    header, rows = report.tables([rep], report.evaluate([rep]))[2]
    assert header[-1] == "best possible here"
    row = next(r for r in rows if r[0].startswith("await page.call vs"))
    assert row[-1] == "1.55x: out of reach"


def test_rerender_evaluates_a_run_again_from_its_samples(
    smoke_results: dict[str, Any], tmp_path: Path, repo_root: Path
) -> None:
    # python -m bench --rerender: the same targets from the saved samples, into another --out
    saved = {key: value for key, value in smoke_results.items() if not key.startswith("_")}
    (tmp_path / "run.json").write_text(json.dumps(saved), encoding="utf-8")
    out = tmp_path / "again"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--rerender", str(tmp_path / "run.json"), "--out", str(out)],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    again = json.loads((out / "latest.json").read_text())
    assert again["reps"] == saved["reps"]
    assert [(t["name"], t["values"]) for t in again["targets"]] == [(t["name"], t["values"]) for t in saved["targets"]]
    assert again["cross_browser"] == saved["cross_browser"]
    assert "evaluated again" in (out / "latest.md").read_text()
