"""Delivery of the published marts to people: Slack (the one webhook poster), e-mail, the
alert state machine over rpt_alerts, and the usage report on demand or weekly. The state of
what was sent lives in a small SQLite file (state.py), never in the marts."""
