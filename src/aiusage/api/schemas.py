"""The API's parameter types and response models (the OpenAPI spec is built from them)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Path as PathParam
from fastapi import Query
from pydantic import BaseModel, ConfigDict

from aiusage.api.tokens import TEAM_PATTERN

TEAM_REGEX = TEAM_PATTERN.pattern


Days = Annotated[int, Query(ge=1, le=366, description="Days in the period (1-366).")]


EndDate = Annotated[
    date | None,
    Query(
        description="Last day of the period, 1970-01-01 to 9999-11-30 "
        "(default: the latest day with data).",
        ge=date(1970, 1, 1),
        le=date(9999, 11, 30),
    ),
]


TeamName = Annotated[str, PathParam(pattern=TEAM_REGEX, max_length=128)]


OptionalName = Annotated[str | None, Query(pattern=TEAM_REGEX, max_length=128)]


class ApiError(BaseModel):
    detail: str | list


class Health(BaseModel):
    status: str
    warehouse: bool


class Me(BaseModel):
    team: str | None
    is_admin: bool
    token_id: str


class DailyUsage(BaseModel):
    usage_date: date
    total_cost_usd: float | None
    requests: int
    successful_requests: int
    total_tokens: int
    unpriced_requests: int


class TeamUsage(BaseModel):
    team: str
    start: date
    end: date
    days: int
    total_cost_usd: float
    requests: int
    daily: list[DailyUsage]


class Report(BaseModel):
    """Same JSON as `aiusage report --format json` (docs/delivery.md)."""

    model_config = ConfigDict(extra="allow")
    report_version: int
    period: dict[str, Any]
    filters: dict[str, str]
    currency: str | dict[str, Any]
    summary: dict[str, Any]
    warnings: dict[str, list[dict[str, Any]]]


class ModelComparison(BaseModel):
    start: date
    end: date
    team: str | None
    models: list[dict[str, Any]]


class MartRows(BaseModel):
    mart: str
    team: str | None
    rows: list[dict[str, Any]]


ERRORS = {
    400: {"model": ApiError, "description": "A period the warehouse cannot answer."},
    401: {"model": ApiError, "description": "No valid bearer token (the same for any path)."},
    403: {"model": ApiError, "description": "A team token asking for another team."},
    429: {"model": ApiError, "description": "Rate limit of the token (see Retry-After)."},
    503: {"model": ApiError, "description": "The warehouse or this mart is not published."},
}


UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}
