"""aiusage: AI usage analytics warehouse (dbt + DuckDB, Dagster, Great Expectations)."""
