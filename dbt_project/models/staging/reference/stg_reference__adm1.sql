with

source as (

    select * from {{ source('reference', 'adm1') }}

),

renamed as (

    select
        -- ids
        adm1_code,
        country_iso3,

        -- names
        name_en,
        name_lo

    from source

)

select * from renamed
