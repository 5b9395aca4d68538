"""The CLI's renderers (rich): plain text off a terminal, Ollama's wording for times."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from tollama.cli import render

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_table_is_plain_aligned_text_off_a_terminal() -> None:
    out = io.StringIO()
    render.table([["chronos-bolt-tiny:latest", "ab12", "9.1 MB"], ["x", "cd34", "1 B"]], ["NAME", "ID", "SIZE"], out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["NAME", "ID", "SIZE"]
    assert lines[1].split("    ") == ["chronos-bolt-tiny:latest", "ab12", "9.1 MB"]
    assert lines[2].index("cd34") == lines[1].index("ab12") == lines[0].index("ID")
    assert "\x1b[" not in out.getvalue() and all(ln == ln.rstrip() for ln in lines)


def test_a_long_row_is_not_wrapped_in_a_pipe() -> None:
    out = io.StringIO()
    render.table([["m" * 150, "meaning " * 30]], ["NAME", "MEANING"], out)
    assert len(out.getvalue().splitlines()) == 2


def test_a_terminal_gets_styles() -> None:
    out = _Tty()
    render.table([["a", "b"]], ["NAME", "ID"], out)
    assert "\x1b[1m" in out.getvalue()  # bold header


def test_until_reads_like_ollama_ps() -> None:
    assert render.until((NOW + timedelta(minutes=4, seconds=59)).isoformat(), NOW) == "4 minutes from now"
    assert render.until((NOW + timedelta(hours=1, minutes=2)).isoformat(), NOW) == "1 hour from now"
    assert render.until((NOW + timedelta(seconds=20)).isoformat(), NOW) == "20 seconds from now"
    assert render.until((NOW - timedelta(seconds=1)).isoformat(), NOW) == "Stopping..."
    assert render.until("2318-11-25T00:00:00+00:00", NOW) == "Forever"
    assert render.until("not a time", NOW) == "not a time"


def test_ago() -> None:
    assert render.ago((NOW - timedelta(days=2, hours=5)).isoformat(), NOW) == "2 days ago"
    assert render.ago((NOW - timedelta(seconds=30)).isoformat(), NOW) == "just now"
    assert render.ago("2026-01-01T11:00:00Z", NOW) == "1 hour ago"


def test_forecast_table_shows_the_numbers() -> None:
    resp = {"model": "m:latest", "family": "f", "device": "cpu", "total_ms": 12.0, "quantiles": [0.1, 0.9], "warnings": ["w [x]"],
            "forecasts": [{"id": "a", "timestamps": ["2024-01-01", "2024-01-02"], "mean": [1.25, 2.5],
                           "quantiles": {"0.1": [1.0, 2.0], "0.9": [1.5, 3.0]}}]}
    out = io.StringIO()
    render.forecast_table(resp, out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "series a  (m:latest, f on cpu, 12 ms)"
    assert lines[1].split() == ["timestamp", "mean", "q0.1", "q0.9"]
    assert lines[2].split() == ["2024-01-01", "1.25", "1", "1.5"]
    assert lines[3].split() == ["2024-01-02", "2.5", "2", "3"]
    assert lines[-1] == "warning: w [x]"


def test_pull_progress_plain_prints_each_file_once_at_100() -> None:
    out = io.StringIO()
    p = render.PullProgress(out)
    for ev in ({"status": "pulling manifest"}, {"status": "pulling ab", "total": 2000, "completed": 1000},
               {"status": "pulling ab", "total": 2000, "completed": 2000}, {"status": "pulling ab", "total": 2000, "completed": 2000},
               {"status": "success"}):
        p.event(ev)
    p.close()
    assert out.getvalue().splitlines() == ["pulling manifest", "pulling ab  100%  2.0 KB/2.0 KB", "success"]


def test_pull_progress_on_a_terminal_draws_bars() -> None:
    out = _Tty()
    p = render.PullProgress(out)
    p.event({"status": "pulling ab", "total": 2000, "completed": 500})
    p.event({"status": "pulling ab", "total": 2000, "completed": 2000})
    p.event({"status": "success"})
    p.close()
    text = out.getvalue()
    assert "pulling ab" in text and "100%" in text and "success" in text and "━" in text
