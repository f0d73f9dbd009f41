-- Alert thresholds: critical is never below warning, and both are positive.
select *
from {{ ref('alert_thresholds') }}
where critical_threshold < warning_threshold or warning_threshold <= 0
