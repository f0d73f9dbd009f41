-- Budgets: one row per (scope, scope_id), a positive monthly limit and, when set, a
-- positive daily limit.
select
    scope,
    scope_id,
    count(*) as rows_per_scope,
    min(monthly_limit_usd) as lowest_limit,
    min(daily_limit_usd) as lowest_daily_limit
from {{ ref('budgets') }}
group by scope, scope_id
having count(*) > 1 or min(monthly_limit_usd) <= 0 or min(daily_limit_usd) <= 0
