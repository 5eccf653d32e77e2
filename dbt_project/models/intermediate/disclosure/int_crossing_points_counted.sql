-- crossing_point_monthly's counts before protection: one row per month x flow monitoring
-- point x direction that the registry or the survey saw (respondents 0 when only the
-- registry did).
with

interviews as (

    select * from {{ ref('fct_fms_interviews') }}

),

tallies as (

    select * from {{ ref('fct_fmr_tallies') }}

),

survey as (

    select
        interview_month as month,
        fmp_code,
        direction,
        count(*) as respondents,
        count(*) filter (where holds_passport) as passport_holders,
        count(*) filter (where holds_border_pass) as border_pass_holders,
        count(*) filter (where holds_work_permit) as work_permit_holders
    from interviews
    group by all

),

registry as (

    select
        tally_month as month,
        fmp_code,
        direction,
        sum(individuals) as registry_individuals,
        count(distinct tally_date) as registry_days
    from tallies
    group by all

),

joined as (

    select
        coalesce(survey.month, registry.month) as month,
        coalesce(survey.fmp_code, registry.fmp_code) as fmp_code,
        coalesce(survey.direction, registry.direction) as direction,
        registry.registry_individuals,
        registry.registry_days,
        coalesce(survey.respondents, 0) as respondents,
        coalesce(survey.passport_holders, 0) as passport_holders,
        coalesce(survey.border_pass_holders, 0) as border_pass_holders,
        coalesce(survey.work_permit_holders, 0) as work_permit_holders
    from survey
    full outer join registry
        on survey.month = registry.month
        and survey.fmp_code = registry.fmp_code
        and survey.direction = registry.direction

)

select * from joined
