-- seeds/revenue.csv: one row per client and month, months given as their first day.
select
    client,
    month,
    count(*) as rows_for_client_month
from {{ ref('revenue') }}
group by client, month
having count(*) > 1 or month != date_trunc('month', month)
