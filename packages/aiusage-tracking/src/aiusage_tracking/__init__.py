"""aiusage-tracking: record LLM usage events into an aiusage landing folder.

Standard library only. `track()` / `record()` write canonical usage events and
`record_outcome()` task outcome records (the contracts in `aiusage_tracking.contract`) into
the landing-zone layout of `aiusage_tracking.landing`.
"""

from aiusage_tracking.tracker import Tracker, record, record_outcome, track, usage_from_response

__all__ = ["Tracker", "record", "record_outcome", "track", "usage_from_response"]
