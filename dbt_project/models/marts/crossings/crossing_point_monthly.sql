{#-
    One row per month x flow monitoring point x direction seen by the registry or the
    survey: the registry's head count (not suppressed: observers' counts, not survey
    respondents) next to the survey's respondents and how many of them hold a passport,
    a border pass or a work permit. Every survey count is published only when the one
    protection pass (int_disclosure_pattern) published its cell; holders are withheld with
    their respondents, and a share only beside both its counts.
-#}

with

cells as (

    select * from {{ ref('int_crossing_points_counted') }}

),

verdicts as (

    select * from {{ ref('int_disclosure_pattern') }}

),

{%- set documents = ['passport', 'border_pass', 'work_permit'] %}
{%- set point = ['cells.month', 'cells.fmp_code', 'cells.direction'] %}

protected as (

    select
        cells.*,
        {{ disclosure_hidden('total') }} as respondents_hidden,
        {%- for document in documents %}
        {{ disclosure_hidden(document) }} as {{ document }}_hidden{{ "," if not loop.last }}
        {%- endfor %}
    from cells
    left join verdicts as total
        on total.cell_id = {{ disclosure_cell_id('crossing', point) }}
    {%- for document in documents %}
    left join verdicts as {{ document }}
        on {{ document }}.cell_id
            = {{ disclosure_cell_id('crossing_holders', point + ["'" ~ document ~ "'"]) }}
    {%- endfor %}

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

        -- survey (respondents, protected)
        cast(case when respondents_hidden then null else respondents end as bigint)
            as respondents,
        {%- for document in documents %}
        cast(
            case
                when respondents_hidden or {{ document }}_hidden then null
                else {{ document }}_holders
            end as bigint
        ) as {{ document }}_holders,
        {%- endfor %}
        {%- for document in documents %}
        case
            when respondents_hidden or {{ document }}_hidden then null
            else {{ document }}_holders / respondents
        end as share_{{ document }},
        {%- endfor %}
        respondents_hidden as suppressed

    from protected

)

select * from published
