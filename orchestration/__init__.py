"""The Dagster code location of the warehouse (`dagster dev -m orchestration.definitions`).

Only Dagster lives here: definitions, assets, checks, resources, schedules, sensors and
`run` (the in-process refresh behind `aiusage build`). What the assets do is the aiusage
package's; this package wires it into one job.
"""
