"""The usage dashboard (ECharts, vendored)."""
