{#-
    Where respondents come from and who they are: one row per quarter x origin area x
    breakdown x category. An origin area is a district where the form records one
    (LA-PH, LA-LM), and otherwise the province with origin_adm2_code NULL; every
    respondent is in exactly one area, so the rows of a quarter never add up to a total
    that is also published. Within an area, each breakdown is a partition of its
    respondents (every category of the form's list is a row, zero included), protected
    with every other published count by the one protection pass (int_disclosure_pattern).
-#}

with

grid as (

    select * from {{ ref('int_origin_profile_categories_counted') }}

),

verdicts as (

    select * from {{ ref('int_disclosure_pattern') }}

),

protected as (

    select
        grid.*,
        {{ disclosure_hidden('base') }} as base_hidden,
        {{ disclosure_hidden('category') }} as is_hidden
    from grid
    left join verdicts as base
        on base.cell_id = {{ disclosure_cell_id('area', ['grid.quarter', 'grid.origin_adm1_code', 'grid.origin_adm2_code']) }}
    left join verdicts as category
        on category.cell_id = {{ disclosure_cell_id('area_category', ['grid.quarter', 'grid.origin_adm1_code', 'grid.origin_adm2_code', 'grid.breakdown', 'grid.category']) }}

),

published as (

    select
        -- dimensions
        quarter,
        origin_adm1_code,
        origin_adm2_code,
        breakdown,
        category,

        -- measures
        cast(case when base_hidden then null else area_respondents end as bigint)
            as area_respondents,
        cast(case when is_hidden then null else respondents end as bigint) as respondents,
        -- a share of a withheld base would give the base away
        case
            when is_hidden or base_hidden then null
            else cast(respondents / area_respondents as double)
        end as share,
        is_hidden as suppressed

    from protected

)

select * from published
