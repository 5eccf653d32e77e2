with

tallies as (

    -- current tallies: ingest has already replaced corrected (date, fmp) sheets
    select * from {{ ref('fct_fmr_tallies') }}

),

daily_flows as (

    select
        -- dimensions
        tally_date as date,
        fmp_code,
        direction,

        -- measures
        cast(sum(individuals) as bigint) as individuals

    from tallies
    group by all

)

select * from daily_flows
