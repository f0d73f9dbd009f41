"""The refresh job, the delivery job and the daily schedule (named in its execution time
zone). Before a refresh starts, the schedule, the landing sensor and `aiusage build` ask
aiusage.changes what changed since the last one (`refresh_request`): nothing (no run; or
only the delivery job when a weekly report is due), only seeds (those seeds and what is
downstream of them), or anything else (the whole job)."""

from __future__ import annotations

import dagster as dg

from aiusage.changes import RefreshPlan, plan
from aiusage.refresh import RefreshOptions
from aiusage.settings import Settings
from orchestration.resources import WarehouseSettings

REFRESH_JOB = "refresh_warehouse"
DELIVER_JOB = "deliver_warehouse"


def refresh_selection(freshness_checks=()) -> dg.AssetSelection:
    """Everything: landing, checks, dbt, publish, alerts and the weekly report; not the
    freshness checks (their own sensor evaluates them)."""
    selection = dg.AssetSelection.all()
    if freshness_checks:
        selection = selection - dg.AssetSelection.checks(*freshness_checks)
    return selection


def build_jobs(freshness_checks=()) -> list[dg.UnresolvedAssetJobDefinition]:
    from orchestration.assets.delivery import ALERTS, WEEKLY_REPORT

    return [
        dg.define_asset_job(
            name=DELIVER_JOB,
            selection=dg.AssetSelection.assets(ALERTS, WEEKLY_REPORT),
            description=(
                "Deliver from the published snapshot without refreshing: new and escalated "
                "alerts of rpt_alerts (and the retries of a channel that failed) and, when "
                "due, the weekly report. The schedule runs it when nothing new landed."
            ),
        ),
        dg.define_asset_job(
            name=REFRESH_JOB,
            selection=refresh_selection(freshness_checks),
            description=(
                "Inventory landing and the seed files, validate the price seeds and the landed "
                "batch (blocking), one dbt build (seeds, incremental and other models, dbt "
                "tests as checks), publish "
                "the snapshot, deliver the alerts of rpt_alerts and, when due, the weekly "
                "report. Backfill: set backfill_start / backfill_end (and full_refresh) on the "
                "warehouse resource in the launchpad."
            ),
        ),
    ]


def seed_refresh_selection(changed_seeds: tuple[str, ...]) -> dg.AssetSelection:
    """A refresh of changed seeds: their files and everything downstream of them (the files'
    checks, the dbt seeds and the models that read them), the landing inventories (which
    record the run's inputs), publish (a seed only the readers use is published too) and
    delivery."""
    from orchestration.assets.delivery import ALERTS, WEEKLY_REPORT
    from orchestration.assets.landing import LANDING_SPECS
    from orchestration.assets.publish import PUBLISHED
    from orchestration.assets.seeds import seed_file_key

    always = [*(spec.key for spec in LANDING_SPECS), PUBLISHED, ALERTS, WEEKLY_REPORT]
    files = [seed_file_key(seed) for seed in changed_seeds]
    return dg.AssetSelection.assets(*always) | dg.AssetSelection.assets(*files).downstream()


def selected_keys(selection: dg.AssetSelection, asset_graph) -> list[dg.AssetKey]:
    """The asset keys of `selection` in a code location's asset graph."""
    return sorted(selection.resolve(asset_graph))


def refresh_request(
    settings: Settings, options: RefreshOptions | None = None
) -> tuple[RefreshPlan, dg.AssetSelection | None]:
    """What the next refresh does (aiusage.changes.plan) and the assets it runs: for changed
    seeds only, those seeds and what is downstream of them; with the seeds unchanged,
    everything but the seeds (their files, their checks and the dbt seeds); None: the whole job
    (nothing at all when plan.nothing_new)."""
    refresh_plan = plan(settings, options)
    return refresh_plan, selection_for(refresh_plan)


def selection_for(refresh_plan: RefreshPlan) -> dg.AssetSelection | None:
    """The assets a refresh of this plan runs (None: the whole job): changed seeds alone ->
    those seeds and what is downstream of them; seeds unchanged -> everything but the seeds
    (and, when no model changed either, but the views and their tests; when only landed
    files changed, but the models no changed source feeds)."""
    if refresh_plan.seeds_only:
        return seed_refresh_selection(refresh_plan.changed_seeds)
    if refresh_plan.seeds_unchanged:
        # group seeds: the seed files with their checks, and the dbt seeds
        unchanged = dg.AssetSelection.groups("seeds")
        if "project" not in refresh_plan.changed:
            from orchestration.assets.dbt import MATERIALIZED_TAG

            # no model changed: every view is what the last build created (its tests too,
            # over data whose own tests run: the tables and incremental models)
            unchanged = unchanged | dg.AssetSelection.tag(MATERIALIZED_TAG, "view")
            if set(refresh_plan.changed) == {"landing"} and refresh_plan.changed_sources:
                unchanged = unchanged | _models_no_changed_source_feeds(
                    refresh_plan.changed_sources
                )
        return refresh_selection() - unchanged
    return None


def _models_no_changed_source_feeds(changed_sources: tuple[str, ...]) -> dg.AssetSelection:
    """The dbt tables and incremental models that are not downstream of a changed landing
    source: when only landed files changed, they (and their tests) are what the last build
    made. Staging is incremental by file, so a source without a new, changed or removed file
    has nothing to read; a mart of seeds alone (dim_models) reads nothing that changed."""
    from orchestration.assets.dbt import MATERIALIZED_TAG
    from orchestration.assets.landing import LANDING_SPECS

    changed = dg.AssetSelection.assets(
        *(spec.key for spec in LANDING_SPECS if spec.key.path[-1] in changed_sources)
    )
    models = dg.AssetSelection.tag(MATERIALIZED_TAG, "table") | dg.AssetSelection.tag(
        MATERIALIZED_TAG, "incremental"
    )
    return models - changed.downstream()


def plan_tag(refresh_plan: RefreshPlan) -> str:
    """The run tag aiusage/plan: what kind of refresh the run is."""
    if refresh_plan.seeds_only:
        return "seeds_only"
    return "seeds_unchanged" if refresh_plan.seeds_unchanged else "refresh"


def build_schedules(settings: Settings) -> list[dg.ScheduleDefinition]:
    @dg.schedule(
        name="daily_refresh",
        job_name=REFRESH_JOB,
        cron_schedule="0 6 * * *",
        execution_timezone=settings.schedule_timezone,
        description="Refresh the warehouse every day at 06:00 in AIUSAGE_SCHEDULE_TIMEZONE "
        "(the first refresh after a week ends also sends that week's report). When nothing "
        "changed since the last refresh it only delivers what is due (deliver_warehouse).",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    def daily_refresh(context: dg.ScheduleEvaluationContext, warehouse: WarehouseSettings):
        return schedule_request(warehouse.resolve(), context.repository_def.asset_graph)

    return [daily_refresh]


def schedule_request(settings: Settings, asset_graph) -> dg.RunRequest | dg.SkipReason:
    """The daily schedule's decision (see refresh_request)."""
    from aiusage.delivery.reports import current_week, weekly_report_due

    refresh_plan, selection = refresh_request(settings)
    if refresh_plan.nothing_new:
        if weekly_report_due(settings, current_week(settings)):
            return dg.RunRequest(job_name=DELIVER_JOB, tags={"aiusage/plan": "deliver_only"})
        return dg.SkipReason(refresh_plan.reason)
    tags = {"aiusage/plan": plan_tag(refresh_plan)}
    if selection is not None:
        return dg.RunRequest(asset_selection=selected_keys(selection, asset_graph), tags=tags)
    return dg.RunRequest(tags=tags)
