"""Compatibility import path: the report lives in `orchestration.delivery.report`."""

from orchestration.delivery.report import (  # noqa: F401
    RENDERERS,
    SECTIONS,
    ReportQuery,
    ReportWindow,
    build_report,
    connect_readonly,
    convert_currency,
    render_csv,
    render_json,
    render_markdown,
    render_text,
)
