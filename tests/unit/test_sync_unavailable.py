"""The SyncUnavailable text names the real reason for each browser and hosting mode."""

from __future__ import annotations

from litebridge._page import explain_sync_unavailable


def test_isolated_without_shared_array_buffer_names_the_browser_not_the_headers() -> None:
    # WebKitGTK under COOP/COEP: isolated, no SharedArrayBuffer, no JSPI
    message = explain_sync_unavailable(isolated=True, jspi_supported=False)
    assert "no SharedArrayBuffer although the page is cross-origin isolated" in message
    assert "Cross-Origin-Opener-Policy" not in message  # the headers are there already
    assert "not cross-origin isolated" not in message
    assert "JSPI" in message
    assert "await page.call" in message


def test_not_isolated_asks_for_the_headers() -> None:
    message = explain_sync_unavailable(isolated=False, jspi_supported=False)
    assert "not cross-origin isolated" in message
    assert "Cross-Origin-Opener-Policy" in message
    assert "although the page is cross-origin isolated" not in message


def test_jspi_browser_blames_the_call_stack() -> None:
    message = explain_sync_unavailable(isolated=False, jspi_supported=True)
    assert "can_run_sync() is False" in message
    assert "no JavaScript Promise Integration" not in message
