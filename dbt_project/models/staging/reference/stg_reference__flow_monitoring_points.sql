with

choices as (

    select * from {{ ref('stg_reference__form_choices') }}

),

flow_monitoring_points as (

    select
        -- ids
        choice_code as fmp_code,

        -- attributes
        label as fmp_name,
        fmp_type,
        country_iso3,
        adm1_code,
        adm2_code,
        neighbour_iso3

    from choices
    where list_name = 'fmp'

)

select * from flow_monitoring_points
