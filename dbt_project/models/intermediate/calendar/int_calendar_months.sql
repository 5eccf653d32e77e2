{#-
    Calendar months, generated in SQL: every month from the earliest to the latest month
    any source mentions (interviews, registry tallies, shipped and overriding exchange
    rates), with no gaps, so joins and carry-forwards never skip a month.
-#}

{{ config(materialized='table') }}

with

interviews as (

    select min(interview_date) as first_day, max(interview_date) as last_day
    from {{ ref('stg_fms__submissions') }}

),

tallies as (

    select min(tally_date) as first_day, max(tally_date) as last_day
    from {{ ref('stg_fmr__tallies') }}

),

shipped_rates as (

    select
        min(cast(strptime(month, '%Y-%m') as date)) as first_day,
        max(cast(strptime(month, '%Y-%m') as date)) as last_day
    from {{ ref('fx_rates_monthly') }}

),

override_rates as (

    select min(month) as first_day, max(month) as last_day
    from {{ ref('stg_fx__rate_overrides') }}

),

bounds as (

    select
        cast(date_trunc('month', min(first_day)) as date) as first_month,
        cast(date_trunc('month', max(last_day)) as date) as last_month
    from (
        select * from interviews
        union all
        select * from tallies
        union all
        select * from shipped_rates
        union all
        select * from override_rates
    )

),

months as (

    select cast(unnest(generate_series(first_month, last_month, interval 1 month)) as date)
        as month
    from bounds

),

described as (

    select
        -- ids
        month,

        -- attributes
        cast(last_day(month) as date) as month_end,
        cast(date_trunc('quarter', month) as date) as quarter,
        cast(year(month) as integer) as year,
        cast(month(month) as integer) as month_of_year,
        cast(quarter(month) as integer) as quarter_of_year,
        strftime(month, '%Y-%m') as month_label,
        cast(year(month) as varchar) || '-Q' || cast(quarter(month) as varchar) as quarter_label,
        cast(day(last_day(month)) as integer) as days_in_month

    from months

)

select * from described
