"""The dashboard page: one HTML file with ECharts (vendored, Apache-2.0) inlined.

- served by the API at `/` (data fetched from /api/v1/dashboard with the user's token);
- exported as one static file with the data embedded (`aiusage dashboard --output f.html`),
  which opens from disk with no network.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
TEMPLATE = Path(__file__).resolve().parent / "template.html"


@lru_cache(maxsize=1)
def _template() -> str:
    return TEMPLATE.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _echarts() -> str:
    return (STATIC_DIR / "echarts.min.js").read_text(encoding="utf-8")


def _embed_json(data) -> str:
    # "</" would end the <script> element; JSON allows "<\/" for "</".
    return json.dumps(data, separators=(",", ":")).replace("</", "<\\/")


def render_page(data: dict | None) -> str:
    """Static page when data is given, else the served page that fetches its data."""
    values = {
        "ECHARTS": _echarts().replace("</script", "<\\/script"),
        "DATA": _embed_json(data),
        "MODE": "static" if data is not None else "served",
    }
    # One pass, so a placeholder-like string inside the data is never substituted.
    return re.sub(r"__(ECHARTS|DATA|MODE)__", lambda m: values[m.group(1)], _template())
