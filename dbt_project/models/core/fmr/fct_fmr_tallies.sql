{#-
    One row per registry tally (a counted group at a flow monitoring point on a day), as
    currently held: ingest has already replaced corrected (date, point) tally sheets.
    Registry counts are observers' head counts, not survey respondents.
-#}

with

tallies as (

    select * from {{ ref('stg_fmr__tallies') }}

),

facts as (

    select
        -- ids
        source_file,
        source_row,
        fmp_code,
        observer_id,

        -- dates
        tally_date,
        cast(date_trunc('month', tally_date) as date) as tally_month,

        -- dimensions
        direction,
        sex,
        age_group,
        nationality_iso3,
        transport_mode,

        -- measures
        individuals,
        hours_observed,

        -- lineage
        loaded_run_id

    from tallies

)

select * from facts
