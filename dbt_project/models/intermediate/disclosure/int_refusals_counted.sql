-- fms_refusals_monthly's counts before protection: one row per month x flow monitoring
-- point x direction with at least one person approached (final, not rejected submissions).
with

submissions as (

    select * from {{ ref('int_fms_submissions_resolved') }}

),

approached as (

    select
        cast(date_trunc('month', interview_date) as date) as month,
        fmp_code,
        direction,
        count(*) as people_approached,
        count(*) filter (where is_refusal) as refusals
    from submissions
    where not is_rejected
    group by all

)

select * from approached
