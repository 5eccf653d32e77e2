with

provinces as (

    select * from {{ ref('stg_reference__adm1') }}

),

dimension as (

    select
        -- ids
        adm1_code,
        country_iso3,

        -- names
        name_en,
        name_lo

    from provinces

)

select * from dimension
