with

source as (

    select * from {{ source('fx', 'fx_rates') }}

),

renamed as (

    select
        -- ids
        cast(strptime(month, '%Y-%m') as date) as month,
        upper(currency) as currency,

        -- measures
        cast(lak_per_unit as double) as lak_per_unit,

        -- lineage
        source_file,
        cast(source_row as integer) as source_row,
        loaded_run_id

    from source

)

select * from renamed
