-- fms_corridor_monthly's counts before protection: one row per month x direction x origin
-- province x destination country with at least one respondent.
with

interviews as (

    select * from {{ ref('fct_fms_interviews') }}

),

cells as (

    select
        interview_month as month,
        direction,
        origin_adm1_code,
        dest_country_iso3,
        count(*) as respondents,
        count(*) filter (where sex = 'female') as female_respondents
    from interviews
    group by all

)

select * from cells
