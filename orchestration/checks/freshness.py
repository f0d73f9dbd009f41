"""Freshness of the marts that matter: a check per mart and the sensor that evaluates them.

Asset checks (visible on each asset, evaluated by a sensor) rather than Dagster's newer
FreshnessPolicy, which only evaluates when the instance enables its freshness daemon
(`freshness: enabled: true` in dagster.yaml); checks work under a plain `dagster dev`.
"""

import warnings
from datetime import timedelta

import dagster as dg

from aiusage.settings import Settings

FRESH_MARTS = [dg.AssetKey(["fct_llm_requests"]), dg.AssetKey(["fct_daily_usage"])]


def build_freshness(settings: Settings):
    """(freshness checks, the sensor that evaluates them) for AIUSAGE_FRESHNESS_HOURS."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        checks = dg.build_last_update_freshness_checks(
            assets=FRESH_MARTS,
            lower_bound_delta=timedelta(hours=settings.freshness_hours),
            timezone=settings.schedule_timezone,
        )
        sensor = dg.build_sensor_for_freshness_checks(
            freshness_checks=checks,
            name="marts_freshness_sensor",
            default_status=dg.DefaultSensorStatus.RUNNING,
        )
    return checks, sensor
