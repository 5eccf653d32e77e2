with

provinces as (

    select * from {{ ref('dim_provinces') }}

),

stories as (

    select * from {{ ref('fct_stories') }}

),

verdicts as (

    select * from {{ ref('int_disclosure_pattern') }}

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

coverage as (

    select
        -- ids
        provinces.adm1_code,

        -- measures: respondents are the same population as fms_corridor_monthly, all months,
        -- published when the one protection pass published the province's cell
        cast(coalesce(public_stories.public_stories, 0) as bigint) as public_stories,
        cast(
            case when {{ disclosure_hidden('verdict') }} then null else verdict.respondents end
            as bigint
        ) as respondents

    from provinces
    left join public_stories on provinces.adm1_code = public_stories.adm1_code
    left join verdicts as verdict
        on verdict.cell_id = {{ disclosure_cell_id('province', ['provinces.adm1_code']) }}
    where provinces.country_iso3 = 'LAO'

)

select * from coverage
