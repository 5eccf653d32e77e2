with

provinces as (

    select * from {{ ref('dim_provinces') }}

),

stories as (

    select * from {{ ref('fct_stories') }}

),

interviews as (

    select * from {{ ref('fct_fms_interviews') }}

),

public_stories as (

    -- consent: internal stories never reach a published table
    select
        residence_adm1_code as adm1_code,
        count(*) as public_stories
    from stories
    where is_public
        and residence_adm1_code is not null
    group by all

),

respondents as (

    -- the same population as fms_corridor_monthly: consenting, not rejected, final versions
    select
        origin_adm1_code as adm1_code,
        count(*) as respondents
    from interviews
    group by all

),

coverage as (

    select
        -- ids
        provinces.adm1_code,

        -- measures
        cast(coalesce(public_stories.public_stories, 0) as bigint) as public_stories,
        cast({{ suppress_count('coalesce(respondents.respondents, 0)') }} as bigint)
            as respondents

    from provinces
    left join public_stories on provinces.adm1_code = public_stories.adm1_code
    left join respondents on provinces.adm1_code = respondents.adm1_code
    where provinces.country_iso3 = 'LAO'

)

select * from coverage
