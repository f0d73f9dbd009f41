"""The usage report, read from the published marts (never from raw events): its period and
filters (period), one query per section (queries, sections), the report as a dict (build) and
its renderings (render). Slack and e-mail payloads are built from the same dict
(aiusage.delivery)."""
