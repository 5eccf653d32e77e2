with

choices as (

    select * from {{ ref('stg_reference__form_choices') }}

),

m49 as (

    select * from {{ ref('m49_countries') }}

),

form_countries as (

    select
        choice_code as form_code,
        -- the form's 'other' country is XXX in every published table
        case when choice_code = 'other' then 'XXX' else choice_code end as country_iso3,
        label as name_en
    from choices
    where list_name = 'country'

),

dimension as (

    select
        -- ids
        form_countries.country_iso3,
        form_countries.form_code,
        m49.m49_code,

        -- names
        form_countries.name_en,
        m49.m49_name_en,

        -- UN M49 geography
        m49.region_code,
        m49.region_name,
        m49.sub_region_code,
        m49.sub_region_name

    from form_countries
    left join m49 on form_countries.country_iso3 = m49.country_iso3

)

select * from dimension
