{#-
    Registry flows per calendar day with 7- and 28-day rolling sums, per flow monitoring
    point and direction. Days without a tally row count as 0, so a window is always 7 or
    28 calendar days (tally_days_* say how many of them had a tally sheet at the point).
    A point's series runs from its first tally day to the registry's last tally day.
-#}

with

tallies as (

    select * from {{ ref('fct_fmr_tallies') }}

),

directions as (

    select choice_code as direction
    from {{ ref('stg_reference__form_choices') }}
    where list_name = 'direction'

),

daily as (

    select tally_date, fmp_code, direction, sum(individuals) as individuals
    from tallies
    group by all

),

sheets as (

    -- a tally sheet covers a day at a point, whichever directions it has rows for
    select distinct tally_date, fmp_code
    from tallies

),

series as (

    select
        fmp_code,
        min(tally_date) as first_date,
        max(max(tally_date)) over () as last_date
    from tallies
    group by fmp_code

),

days as (

    select
        series.fmp_code,
        directions.direction,
        cast(unnest(generate_series(series.first_date, series.last_date, interval 1 day)) as date)
            as date
    from series
    cross join directions

),

filled as (

    select
        days.date,
        days.fmp_code,
        days.direction,
        coalesce(daily.individuals, 0) as individuals,
        sheets.tally_date is not null as has_tally
    from days
    left join daily
        on days.date = daily.tally_date
        and days.fmp_code = daily.fmp_code
        and days.direction = daily.direction
    left join sheets
        on days.date = sheets.tally_date
        and days.fmp_code = sheets.fmp_code

),

rolled as (

    select
        -- dimensions
        date,
        fmp_code,
        direction,

        -- measures
        cast(individuals as bigint) as individuals,
        has_tally,
        cast(sum(individuals) over last_7_days as bigint) as individuals_7d,
        cast(sum(individuals) over last_28_days as bigint) as individuals_28d,
        cast(count(*) filter (where has_tally) over last_7_days as bigint) as tally_days_7d,
        cast(count(*) filter (where has_tally) over last_28_days as bigint) as tally_days_28d

    from filled
    window
        -- rows are calendar days here (the series has no gaps)
        last_7_days as (
            partition by fmp_code, direction order by date
            rows between 6 preceding and current row
        ),
        last_28_days as (
            partition by fmp_code, direction order by date
            rows between 27 preceding and current row
        )

)

select * from rolled
