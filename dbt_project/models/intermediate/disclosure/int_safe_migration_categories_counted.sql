{#-
    fms_safe_migration_quarterly's counts before protection: one row per quarter x direction
    x origin province x destination country x indicator x category, for every corridor with
    at least one respondent that quarter. Each indicator is a partition of the corridor's
    respondents: every category is a row, zero included.
-#}

with

interviews as (

    select * from {{ ref('fct_fms_interviews') }}

),

choices as (

    select * from {{ ref('stg_reference__form_choices') }}

),

corridors as (

    select
        interview_quarter as quarter,
        direction,
        origin_adm1_code,
        dest_country_iso3,
        count(*) as corridor_respondents
    from interviews
    group by all

),

categories as (

    select 'recruitment_channel' as indicator, choice_code as category
    from choices where list_name = 'channel'

    union all

    select 'written_contract' as indicator, choice_code as category
    from choices where list_name = 'yes_no_dk'

    union all

    -- both questions are optional: not answering is a category of its own
    select indicator, 'not_stated' as category
    from (values ('recruitment_channel'), ('written_contract')) as optional (indicator)

    union all

    -- select_multiple answers as yes / no per option; 'no' includes not answering
    select indicator, category
    from (
        values ('holds_passport'), ('holds_border_pass'), ('holds_work_permit'),
            ('took_on_debt')
    ) as flags (indicator)
    cross join (values ('yes'), ('no')) as answers (category)

),

category_counts as (

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
        interview_quarter as quarter,
        direction,
        origin_adm1_code,
        dest_country_iso3,
        '{{ indicator }}' as indicator,
        {{ expression }} as category,
        count(*) as respondents
    from interviews
    group by all
    {{ "union all" if not loop.last }}
    {%- endfor %}

),

grid as (

    -- every category of every indicator for every corridor: an absent row would say "zero"
    select
        corridors.quarter,
        corridors.direction,
        corridors.origin_adm1_code,
        corridors.dest_country_iso3,
        categories.indicator,
        categories.category,
        corridors.corridor_respondents,
        coalesce(category_counts.respondents, 0) as respondents
    from corridors
    cross join categories
    left join category_counts
        on corridors.quarter = category_counts.quarter
        and corridors.direction = category_counts.direction
        and corridors.origin_adm1_code = category_counts.origin_adm1_code
        and corridors.dest_country_iso3 = category_counts.dest_country_iso3
        and categories.indicator = category_counts.indicator
        and categories.category = category_counts.category

)

select * from grid
