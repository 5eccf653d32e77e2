{#-
    One row per month x flow monitoring point x direction seen by the registry or the
    survey: the registry's head count (not suppressed: observers' counts, not survey
    respondents) next to the survey's respondents and how many of them hold a passport,
    a border pass or a work permit. Document holders are a yes/no split of the
    respondents, so each count is published only when it and its complement are >= k.
-#}

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

),

published as (

    select
        -- dimensions
        month,
        fmp_code,
        direction,

        -- registry (head counts, never suppressed)
        cast(registry_individuals as bigint) as registry_individuals,
        cast(coalesce(registry_days, 0) as bigint) as registry_days,

        -- survey (respondents, suppressed below k)
        cast({{ suppress_count('respondents') }} as bigint) as respondents,
        {%- for document in ['passport', 'border_pass', 'work_permit'] %}
        cast({{ suppress_part(document ~ '_holders', 'respondents') }} as bigint)
            as {{ document }}_holders,
        {%- endfor %}
        {%- for document in ['passport', 'border_pass', 'work_permit'] %}
        {{ suppress_part(document ~ '_holders', 'respondents') }} / respondents
            as share_{{ document }},
        {%- endfor %}
        {{ is_suppressed('respondents') }} as suppressed

    from joined

)

select * from published
