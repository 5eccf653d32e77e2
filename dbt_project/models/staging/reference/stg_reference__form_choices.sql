with

source as (

    select * from {{ source('reference', 'form_choices') }}

),

renamed as (

    select
        -- ids
        list_name,
        name as choice_code,

        -- attributes
        label,
        country as country_iso3,
        adm1 as adm1_code,
        adm2 as adm2_code,
        fmp_type,
        neighbour as neighbour_iso3

    from source

)

select * from renamed
