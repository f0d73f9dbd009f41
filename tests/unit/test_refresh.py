"""What a refresh re-reads: the look-back window, a backfill range, a full refresh."""

from __future__ import annotations


def test_backfill_moves_the_first_landing_day_back():
    from datetime import date

    from aiusage.refresh import RefreshOptions

    latest = date(2026, 11, 20)
    assert RefreshOptions().first_landing_day(latest, 3) == date(2026, 11, 17)
    backfill = RefreshOptions(backfill_start=date(2026, 11, 2))
    assert backfill.first_landing_day(latest, 3) == date(2026, 11, 2)
    inside = RefreshOptions(backfill_start=date(2026, 11, 19))
    assert inside.first_landing_day(latest, 3) == date(2026, 11, 17)
    assert RefreshOptions(full_refresh=True).first_landing_day(latest, 3) is None
