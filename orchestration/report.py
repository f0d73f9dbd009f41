"""Compatibility import path: the report lives in `orchestration.delivery.report`."""

from orchestration.delivery.report import (  # noqa: F401
    RENDERERS,
    SECTIONS,
    ReportQuery,
    ReportWindow,
    build_report,
    convert_currency,
    connect_readonly,
    render_csv,
    render_json,
    render_markdown,
    render_text,
)
