{#-
    fms_origin_profile_quarterly's counts before protection: one row per quarter x origin
    area x breakdown x category, for every area with at least one respondent that quarter.
    An origin area is a district where the form records one (LA-PH, LA-LM), and otherwise
    the province with origin_adm2_code NULL. Each breakdown is a partition of the area's
    respondents: every category of the form's list is a row, zero included.
-#}

with

interviews as (

    select * from {{ ref('fct_fms_interviews') }}

),

choices as (

    select * from {{ ref('stg_reference__form_choices') }}

),

areas as (

    select
        interview_quarter as quarter,
        origin_adm1_code,
        origin_adm2_code,
        count(*) as area_respondents
    from interviews
    group by all

),

categories as (

    select 'sex' as breakdown, choice_code as category
    from choices where list_name = 'sex'

    union all

    select 'age_band' as breakdown, category
    from (
        values
        {%- for label, lowest, highest in age_bands() %}
            ('{{ label }}'){{ "," if not loop.last }}
        {%- endfor %}
    ) as bands (category)

    union all

    select 'reason' as breakdown, choice_code as category
    from choices where list_name = 'reason'

    union all

    select breakdown, choice_code as category
    from choices
    cross join (values ('sector_before'), ('sector_destination')) as sectors (breakdown)
    where list_name = 'sector'

    union all

    -- the sector questions are optional: not answering is a category of its own
    select breakdown, 'not_stated' as category
    from (values ('sector_before'), ('sector_destination')) as sectors (breakdown)

),

category_counts as (

    {%- set breakdowns = {
        'sex': 'sex',
        'age_band': 'age_band',
        'reason': 'reason',
        'sector_before': "coalesce(sector_before, 'not_stated')",
        'sector_destination': "coalesce(sector_destination, 'not_stated')",
    } %}
    {%- for breakdown, expression in breakdowns.items() %}

    select
        interview_quarter as quarter,
        origin_adm1_code,
        origin_adm2_code,
        '{{ breakdown }}' as breakdown,
        {{ expression }} as category,
        count(*) as respondents
    from interviews
    group by all
    {{ "union all" if not loop.last }}
    {%- endfor %}

),

grid as (

    -- every category of every breakdown for every area: an absent row would say "zero"
    select
        areas.quarter,
        areas.origin_adm1_code,
        areas.origin_adm2_code,
        categories.breakdown,
        categories.category,
        areas.area_respondents,
        coalesce(category_counts.respondents, 0) as respondents
    from areas
    cross join categories
    left join category_counts
        on areas.quarter = category_counts.quarter
        and areas.origin_adm1_code = category_counts.origin_adm1_code
        and areas.origin_adm2_code is not distinct from category_counts.origin_adm2_code
        and categories.breakdown = category_counts.breakdown
        and categories.category = category_counts.category

)

select * from grid
