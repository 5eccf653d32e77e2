{#-
    The privacy rule, checked on what is actually published (no access to the facts):
    no respondent count, and no count derivable by subtraction within a table, is below
    k; `suppressed` matches the NULLs; medians and shares never outlive their count nor
    their base. (Across tables, the attacker's LP of the protection pass and the audit
    of the published file check the rest.)
    For the long-format marts, each partition (categories adding up to a published base)
    must hide either nothing or at least two categories adding up to at least k. A base
    may be withheld as a complement while categories stay published (each is >= k, so
    the base is too).
-#}
{%- set k = suppression_k() %}

with

corridor as (

    select
        'fms_corridor_monthly' as table_name,
        concat_ws(' ', month, direction, origin_adm1_code, dest_country_iso3) as cell
    from {{ ref('fms_corridor_monthly') }}
    where respondents < {{ k }}
        or female_respondents < {{ k }}
        or respondents - female_respondents < {{ k }}
        or suppressed is distinct from (respondents is null)
        or (respondents is null and female_respondents is not null)

),

coverage as (

    select 'story_coverage' as table_name, adm1_code as cell
    from {{ ref('story_coverage') }}
    where respondents < {{ k }}

),

origin_rows as (

    select
        'fms_origin_profile_quarterly' as table_name,
        concat_ws(' ', quarter, origin_adm1_code, origin_adm2_code, breakdown, category) as cell
    from {{ ref('fms_origin_profile_quarterly') }}
    where respondents < {{ k }}
        or area_respondents < {{ k }}
        or suppressed is distinct from (respondents is null)
        or (share is not null and (respondents is null or area_respondents is null))

),

origin_partitions as (

    select
        'fms_origin_profile_quarterly' as table_name,
        concat_ws(' ', quarter, origin_adm1_code, origin_adm2_code, breakdown) as cell
    from {{ ref('fms_origin_profile_quarterly') }}
    where area_respondents is not null
    group by quarter, origin_adm1_code, origin_adm2_code, breakdown
    having count(*) filter (where respondents is null) > 0
        and (
            count(*) filter (where respondents is null) < 2
            or max(area_respondents) - coalesce(sum(respondents), 0) < {{ k }}
        )

),

safe_rows as (

    select
        'fms_safe_migration_quarterly' as table_name,
        concat_ws(' ', quarter, direction, origin_adm1_code, dest_country_iso3, indicator, category)
            as cell
    from {{ ref('fms_safe_migration_quarterly') }}
    where respondents < {{ k }}
        or corridor_respondents < {{ k }}
        or suppressed is distinct from (respondents is null)
        or (share is not null and (respondents is null or corridor_respondents is null))
        or ((respondents is null or corridor_respondents is null) and median_debt_lak is not null)
        or (median_debt_lak is not null and (indicator, category) <> ('took_on_debt', 'yes'))

),

safe_partitions as (

    select
        'fms_safe_migration_quarterly' as table_name,
        concat_ws(' ', quarter, direction, origin_adm1_code, dest_country_iso3, indicator) as cell
    from {{ ref('fms_safe_migration_quarterly') }}
    where corridor_respondents is not null
    group by quarter, direction, origin_adm1_code, dest_country_iso3, indicator
    having count(*) filter (where respondents is null) > 0
        and (
            count(*) filter (where respondents is null) < 2
            or max(corridor_respondents) - coalesce(sum(respondents), 0) < {{ k }}
        )

),

crossings as (

    select
        'crossing_point_monthly' as table_name,
        concat_ws(' ', month, fmp_code, direction) as cell
    from {{ ref('crossing_point_monthly') }}
    where respondents < {{ k }}
        or suppressed is distinct from (respondents is null)
        {%- for document in ['passport', 'border_pass', 'work_permit'] %}
        or {{ document }}_holders < {{ k }}
        or respondents - {{ document }}_holders < {{ k }}
        or (respondents is null and {{ document }}_holders is not null)
        or (share_{{ document }} is null) is distinct from ({{ document }}_holders is null)
        {%- endfor %}

),

refusals as (

    select
        'fms_refusals_monthly' as table_name,
        concat_ws(' ', month, fmp_code, direction) as cell
    from {{ ref('fms_refusals_monthly') }}
    where people_approached < {{ k }}
        or refusals < {{ k }}
        or people_approached - refusals < {{ k }}
        -- approached minus crossing_point_monthly's respondents would be the refusals
        or (people_approached is null and refusals is not null)
        or (refusal_share is null) is distinct from (refusals is null)

),

incomes as (

    select
        'fms_income_uplift' as table_name,
        concat_ws(' ', direction, origin_adm1_code, dest_country_iso3, sector_destination) as cell
    from {{ ref('fms_income_uplift') }}
    where respondents < {{ k }}
        or suppressed is distinct from (respondents is null)
        or (
            respondents is null
            and coalesce(
                median_income_before_lak, median_income_destination_lak,
                median_income_before_usd, median_income_destination_usd, income_ratio
            ) is not null
        )

)

select * from corridor
union all select * from coverage
union all select * from origin_rows
union all select * from origin_partitions
union all select * from safe_rows
union all select * from safe_partitions
union all select * from crossings
union all select * from incomes
union all select * from refusals
