with

source as (

    select * from {{ source('fmr', 'fmr_tallies') }}

),

renamed as (

    select
        -- ids
        fmp as fmp_code,
        observer_id,

        -- dimensions
        direction,
        sex,
        age_group,
        nationality as nationality_iso3,
        transport as transport_mode,

        -- measures
        cast("count" as bigint) as individuals,
        cast(hours_observed as double) as hours_observed,

        -- dates
        cast("date" as date) as tally_date,

        -- lineage
        source_file,
        cast(source_row as integer) as source_row,
        loaded_run_id

    from source

)

select * from renamed
