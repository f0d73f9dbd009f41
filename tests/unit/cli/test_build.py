"""`aiusage build`: the options it passes to the refresh job, and what it prints."""

from __future__ import annotations

from click.testing import CliRunner

from aiusage.cli import main


def test_build_command_passes_the_backfill_range(monkeypatch):
    import orchestration.run

    seen = {}

    def fake_refresh(settings, options=None, log_level=None, selection=None):
        seen["options"] = options
        raise SystemExit(0)

    monkeypatch.setattr(orchestration.run, "run_refresh", fake_refresh)
    args = ["build", "--start-date", "2026-11-01", "--end-date", "2026-11-05", "--full-refresh"]
    CliRunner().invoke(main, args)
    options = seen["options"]
    assert (str(options.backfill_start), str(options.backfill_end)) == ("2026-11-01", "2026-11-05")
    assert options.full_refresh
    # the config the launchpad would take for the same backfill
    assert options.as_config() == {
        "backfill_start": "2026-11-01",
        "backfill_end": "2026-11-05",
        "full_refresh": True,
    }
    bad = CliRunner().invoke(
        main, ["build", "--start-date", "2026-11-05", "--end-date", "2026-11-01"]
    )
    assert bad.exit_code == 2 and "before its start" in bad.output
    lone_end = CliRunner().invoke(main, ["build", "--end-date", "2026-11-01"])
    assert lone_end.exit_code == 2 and "needs a start date" in lone_end.output
