{#-
    The privacy rule, checked on what is actually published: no respondent count, and no
    count derivable by subtraction within a row, is below k; suppressed matches the NULLs.
-#}
{%- set k = suppression_k() %}

select
    'fms_corridor_monthly' as table_name,
    cast(month as varchar) || ' ' || direction || ' ' || origin_adm1_code || ' '
    || dest_country_iso3 as cell,
    respondents,
    female_respondents,
    suppressed
from {{ ref('fms_corridor_monthly') }}
where respondents < {{ k }}
    or female_respondents < {{ k }}
    or respondents - female_respondents < {{ k }}
    or suppressed is distinct from (respondents is null)
    or (respondents is null and female_respondents is not null)

union all

select
    'story_coverage' as table_name,
    adm1_code as cell,
    respondents,
    null as female_respondents,
    null as suppressed
from {{ ref('story_coverage') }}
where respondents < {{ k }}
