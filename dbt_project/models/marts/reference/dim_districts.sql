with

choices as (

    select * from {{ ref('stg_reference__form_choices') }}

),

districts as (

    select
        -- ids
        choice_code as adm2_code,
        adm1_code,
        country_iso3,

        -- names
        label as name_en

    from choices
    where list_name = 'adm2'

)

select * from districts
