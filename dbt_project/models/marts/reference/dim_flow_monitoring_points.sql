with

points as (

    select * from {{ ref('stg_reference__flow_monitoring_points') }}

),

dimension as (

    select
        -- ids
        fmp_code,
        adm1_code,
        adm2_code,

        -- attributes
        fmp_name,
        fmp_type,
        country_iso3,
        neighbour_iso3

    from points

)

select * from dimension
