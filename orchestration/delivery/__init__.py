"""Delivery of the published marts: report, Slack, e-mail, alerts."""
