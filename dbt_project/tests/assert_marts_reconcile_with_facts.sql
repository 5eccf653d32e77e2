{#-
    Every published mart reconciles with the facts it aggregates. The test recomputes the
    unsuppressed counts from the facts and fails on any row (one per problem) where:
      - a mart cell and the facts' cell do not match one to one;
      - a published count differs from the facts' count, or a base below k is published
        (the primary rule; a base of k or more may be withheld too, by the one protection
        pass, models/intermediate/disclosure/);
      - the categories of a partition do not add up to their base (hidden ones counted
        from the facts);
      - a mart's total, published plus suppressed counts, differs from the fact's total.
-#}
{%- set k = suppression_k() %}

with

interviews as (

    select * from {{ ref('fct_fms_interviews') }}

),

tallies as (

    select * from {{ ref('fct_fmr_tallies') }}

),

fact_total as (

    select count(*) as respondents from interviews

),

-- fms_corridor_monthly ------------------------------------------------------------------

corridor_expected as (

    select
        interview_month as month, direction, origin_adm1_code, dest_country_iso3,
        count(*) as respondents,
        count(*) filter (where sex = 'female') as female_respondents
    from interviews
    group by all

),

corridor_joined as (

    select
        coalesce(m.month, e.month) as month,
        coalesce(m.direction, e.direction) as direction,
        coalesce(m.origin_adm1_code, e.origin_adm1_code) as origin_adm1_code,
        coalesce(m.dest_country_iso3, e.dest_country_iso3) as dest_country_iso3,
        m.month is not null as in_mart,
        e.month is not null as in_facts,
        m.respondents as published,
        m.female_respondents as published_female,
        m.suppressed,
        e.respondents as expected,
        e.female_respondents as expected_female
    from {{ ref('fms_corridor_monthly') }} as m
    full outer join corridor_expected as e
        on m.month = e.month
        and m.direction = e.direction
        and m.origin_adm1_code = e.origin_adm1_code
        and m.dest_country_iso3 = e.dest_country_iso3

),

corridor_failures as (

    select
        'fms_corridor_monthly: cell' as check_name,
        concat_ws(' ', month, direction, origin_adm1_code, dest_country_iso3) as detail
    from corridor_joined
    where not (in_mart and in_facts)
        or published <> expected
        or published_female <> expected_female
        or (not suppressed and expected < {{ k }})
        or suppressed is distinct from (published is null)

    union all

    select 'fms_corridor_monthly: total' as check_name,
        cast(sum(coalesce(published, expected)) as varchar) as detail
    from corridor_joined
    having coalesce(sum(coalesce(published, expected)), 0) <> (select respondents from fact_total)

),

-- story_coverage --------------------------------------------------------------------------

coverage_joined as (

    select
        m.adm1_code,
        m.respondents as published,
        coalesce(e.respondents, 0) as expected
    from {{ ref('story_coverage') }} as m
    left join (
        select origin_adm1_code as adm1_code, count(*) as respondents
        from interviews
        group by all
    ) as e on m.adm1_code = e.adm1_code

),

coverage_failures as (

    select 'story_coverage: province' as check_name, adm1_code as detail
    from coverage_joined
    where published <> expected
        or (published is not null and expected < {{ k }})

    union all

    select 'story_coverage: total' as check_name, cast(sum(coalesce(published, expected)) as varchar)
    from coverage_joined
    having coalesce(sum(coalesce(published, expected)), 0) <> (select respondents from fact_total)

),

-- fms_origin_profile_quarterly --------------------------------------------------------------

origin_areas as (

    select
        interview_quarter as quarter, origin_adm1_code, origin_adm2_code,
        count(*) as respondents
    from interviews
    group by all

),

origin_mart as (

    select * from {{ ref('fms_origin_profile_quarterly') }}

),

origin_expected as (

    {%- set breakdowns = {
        'sex': 'sex',
        'age_band': 'age_band',
        'reason': 'reason',
        'sector_before': "coalesce(sector_before, 'not_stated')",
        'sector_destination': "coalesce(sector_destination, 'not_stated')",
    } %}
    {%- for breakdown, expression in breakdowns.items() %}
    select
        interview_quarter as quarter, origin_adm1_code, origin_adm2_code,
        '{{ breakdown }}' as breakdown, {{ expression }} as category, count(*) as respondents
    from interviews
    group by all
    {{ "union all" if not loop.last }}
    {%- endfor %}

),

origin_failures as (

    -- every category the facts hold is a published row with the right count
    select 'fms_origin_profile_quarterly: category' as check_name,
        concat_ws(' ', e.quarter, e.origin_adm1_code, e.origin_adm2_code, e.breakdown, e.category)
            as detail
    from origin_expected as e
    left join origin_mart as m
        on e.quarter = m.quarter
        and e.origin_adm1_code = m.origin_adm1_code
        and e.origin_adm2_code is not distinct from m.origin_adm2_code
        and e.breakdown = m.breakdown
        and e.category = m.category
    where m.quarter is null
        or m.respondents <> e.respondents

    union all

    -- every published area is a facts area with the right base, and each breakdown's
    -- categories (hidden ones counted from the facts) add up to it
    select 'fms_origin_profile_quarterly: area' as check_name,
        concat_ws(' ', m.quarter, m.origin_adm1_code, m.origin_adm2_code, m.breakdown) as detail
    from origin_mart as m
    left join origin_areas as a
        on m.quarter = a.quarter
        and m.origin_adm1_code = a.origin_adm1_code
        and m.origin_adm2_code is not distinct from a.origin_adm2_code
    left join origin_expected as e
        on m.quarter = e.quarter
        and m.origin_adm1_code = e.origin_adm1_code
        and m.origin_adm2_code is not distinct from e.origin_adm2_code
        and m.breakdown = e.breakdown
        and m.category = e.category
    group by m.quarter, m.origin_adm1_code, m.origin_adm2_code, m.breakdown
    having max(a.respondents) is null
        or max(m.area_respondents) <> max(a.respondents)
        or (max(m.area_respondents) is not null and max(a.respondents) < {{ k }})
        or sum(coalesce(m.respondents, e.respondents, 0)) <> max(a.respondents)

    union all

    select 'fms_origin_profile_quarterly: total' as check_name, cast(count(*) as varchar)
    from origin_areas
    having coalesce(sum(respondents), 0) <> (select respondents from fact_total)
        or count(*) <> (
            select count(*) from (
                select distinct quarter, origin_adm1_code, origin_adm2_code from origin_mart
            )
        )

),

-- fms_safe_migration_quarterly --------------------------------------------------------------

safe_corridors as (

    select
        interview_quarter as quarter, direction, origin_adm1_code, dest_country_iso3,
        count(*) as respondents
    from interviews
    group by all

),

safe_mart as (

    select * from {{ ref('fms_safe_migration_quarterly') }}

),

safe_expected as (

    {%- set indicators = {
        'recruitment_channel': "coalesce(recruitment_channel, 'not_stated')",
        'written_contract': "coalesce(has_contract, 'not_stated')",
        'holds_passport': "case when holds_passport then 'yes' else 'no' end",
        'holds_border_pass': "case when holds_border_pass then 'yes' else 'no' end",
        'holds_work_permit': "case when holds_work_permit then 'yes' else 'no' end",
        'took_on_debt': "case when took_on_debt then 'yes' else 'no' end",
    } %}
    {%- for indicator, expression in indicators.items() %}
    select
        interview_quarter as quarter, direction, origin_adm1_code, dest_country_iso3,
        '{{ indicator }}' as indicator, {{ expression }} as category, count(*) as respondents
    from interviews
    group by all
    {{ "union all" if not loop.last }}
    {%- endfor %}

),

safe_failures as (

    select 'fms_safe_migration_quarterly: category' as check_name,
        concat_ws(' ', e.quarter, e.direction, e.origin_adm1_code, e.dest_country_iso3,
            e.indicator, e.category) as detail
    from safe_expected as e
    left join safe_mart as m
        on e.quarter = m.quarter
        and e.direction = m.direction
        and e.origin_adm1_code = m.origin_adm1_code
        and e.dest_country_iso3 = m.dest_country_iso3
        and e.indicator = m.indicator
        and e.category = m.category
    where m.quarter is null
        or m.respondents <> e.respondents

    union all

    select 'fms_safe_migration_quarterly: corridor' as check_name,
        concat_ws(' ', m.quarter, m.direction, m.origin_adm1_code, m.dest_country_iso3,
            m.indicator) as detail
    from safe_mart as m
    left join safe_corridors as c
        on m.quarter = c.quarter
        and m.direction = c.direction
        and m.origin_adm1_code = c.origin_adm1_code
        and m.dest_country_iso3 = c.dest_country_iso3
    left join safe_expected as e
        on m.quarter = e.quarter
        and m.direction = e.direction
        and m.origin_adm1_code = e.origin_adm1_code
        and m.dest_country_iso3 = e.dest_country_iso3
        and m.indicator = e.indicator
        and m.category = e.category
    group by m.quarter, m.direction, m.origin_adm1_code, m.dest_country_iso3, m.indicator
    having max(c.respondents) is null
        or max(m.corridor_respondents) <> max(c.respondents)
        or (max(m.corridor_respondents) is not null and max(c.respondents) < {{ k }})
        or sum(coalesce(m.respondents, e.respondents, 0)) <> max(c.respondents)

    union all

    select 'fms_safe_migration_quarterly: total' as check_name, cast(count(*) as varchar)
    from safe_corridors
    having coalesce(sum(respondents), 0) <> (select respondents from fact_total)
        or count(*) <> (
            select count(*) from (
                select distinct quarter, direction, origin_adm1_code, dest_country_iso3
                from safe_mart
            )
        )

),

-- crossing_point_monthly --------------------------------------------------------------------

crossing_survey as (

    select interview_month as month, fmp_code, direction, count(*) as respondents
    from interviews
    group by all

),

crossing_registry as (

    select tally_month as month, fmp_code, direction, sum(individuals) as individuals
    from tallies
    group by all

),

crossing_joined as (

    select
        m.month, m.fmp_code, m.direction,
        m.respondents as published,
        m.suppressed,
        m.registry_individuals,
        coalesce(s.respondents, 0) as expected,
        r.individuals as expected_individuals
    from {{ ref('crossing_point_monthly') }} as m
    left join crossing_survey as s
        on m.month = s.month and m.fmp_code = s.fmp_code and m.direction = s.direction
    left join crossing_registry as r
        on m.month = r.month and m.fmp_code = r.fmp_code and m.direction = r.direction

),

crossing_failures as (

    select 'crossing_point_monthly: cell' as check_name,
        concat_ws(' ', month, fmp_code, direction) as detail
    from crossing_joined
    where published <> expected
        or (not suppressed and expected < {{ k }})
        or registry_individuals is distinct from expected_individuals

    union all

    select 'crossing_point_monthly: totals' as check_name,
        cast(sum(coalesce(published, expected)) as varchar)
    from crossing_joined
    having coalesce(sum(coalesce(published, expected)), 0) <> (select respondents from fact_total)
        or coalesce(sum(registry_individuals), 0)
            <> (select coalesce(sum(individuals), 0) from tallies)

),

-- fms_income_uplift -------------------------------------------------------------------------

income_expected as (

    select
        i.direction, i.origin_adm1_code, i.dest_country_iso3,
        coalesce(i.sector_destination, 'not_stated') as sector_destination,
        count(*) as respondents
    from interviews as i
    inner join {{ ref('dim_fx_rates') }} as income_rate
        on i.interview_month = income_rate.month
        and i.expected_income_currency = income_rate.currency
    inner join {{ ref('dim_fx_rates') }} as usd_rate
        on i.interview_month = usd_rate.month
        and usd_rate.currency = 'USD'
    where i.income_before_lak is not null
        and i.expected_income is not null
    group by all

),

income_failures as (

    select 'fms_income_uplift: cell' as check_name,
        concat_ws(' ', coalesce(m.direction, e.direction),
            coalesce(m.origin_adm1_code, e.origin_adm1_code),
            coalesce(m.dest_country_iso3, e.dest_country_iso3),
            coalesce(m.sector_destination, e.sector_destination)) as detail
    from {{ ref('fms_income_uplift') }} as m
    full outer join income_expected as e
        on m.direction = e.direction
        and m.origin_adm1_code = e.origin_adm1_code
        and m.dest_country_iso3 = e.dest_country_iso3
        and m.sector_destination = e.sector_destination
    where m.direction is null
        or e.direction is null
        or m.respondents <> e.respondents
        or (not m.suppressed and e.respondents < {{ k }})

),

-- fms_refusals_monthly -----------------------------------------------------------------------

refusals_failures as (

    -- where a cell is published, the people approached who did not refuse are exactly the
    -- fact's interviews of that cell (refusal counts themselves are unit-tested; counting
    -- them here would resolve every submission once more)
    select 'fms_refusals_monthly: consenting' as check_name,
        concat_ws(' ', m.month, m.fmp_code, m.direction) as detail
    from {{ ref('fms_refusals_monthly') }} as m
    left join crossing_survey as s
        on m.month = s.month and m.fmp_code = s.fmp_code and m.direction = s.direction
    where m.people_approached is not null
        and m.people_approached - m.refusals is distinct from s.respondents

),

-- registry marts ----------------------------------------------------------------------------

registry_failures as (

    select 'fmr_daily_flows: total' as check_name,
        cast(sum(individuals) as varchar) as detail
    from {{ ref('fmr_daily_flows') }}
    having coalesce(sum(individuals), 0) <> (select coalesce(sum(individuals), 0) from tallies)

    union all

    select 'fmr_flows_rolling: total' as check_name,
        cast(sum(individuals) as varchar) as detail
    from {{ ref('fmr_flows_rolling') }}
    having coalesce(sum(individuals), 0) <> (select coalesce(sum(individuals), 0) from tallies)

),

-- the protection pass ------------------------------------------------------------------------

pattern_failures as (

    -- every cell a mart publishes has a verdict (a missing one is withheld, never shown,
    -- but means the cells and the marts disagree), and no published cell is below k
    select 'int_disclosure_pattern: published below k' as check_name, cell_id as detail
    from {{ ref('int_disclosure_pattern') }}
    where verdict = 'published' and respondents < {{ k }} and kind <> 'ops_fms_rows_loaded'

    union all

    select 'int_disclosure_pattern: corridor cell without a verdict', concat_ws(' ', month,
        direction, origin_adm1_code, dest_country_iso3)
    from {{ ref('int_corridor_months_counted') }} as c
    where {{ disclosure_cell_id('corridor', ['c.month', 'c.direction', 'c.origin_adm1_code', 'c.dest_country_iso3']) }}
        not in (select cell_id from {{ ref('int_disclosure_pattern') }})

)

select * from pattern_failures
union all select * from corridor_failures
union all select * from coverage_failures
union all select * from origin_failures
union all select * from safe_failures
union all select * from crossing_failures
union all select * from income_failures
union all select * from refusals_failures
union all select * from registry_failures
