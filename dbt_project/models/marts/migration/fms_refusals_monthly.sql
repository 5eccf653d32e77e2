{#-
    Refusal statistics: the only place where interviews that stopped at consent count.
    One row per month x flow monitoring point x direction: people approached (final,
    not rejected submissions, edits resolved), how many refused, and the refusal share.
    People approached = refusals + the respondents crossing_point_monthly publishes for the
    same month x point x direction: the one protection pass (int_disclosure_pattern)
    decides both counts with that relation and every other, and refusals are withheld
    whenever people_approached is.
-#}

with

cells as (

    select * from {{ ref('int_refusals_counted') }}

),

verdicts as (

    select * from {{ ref('int_disclosure_pattern') }}

),

protected as (

    select
        cells.*,
        {{ disclosure_hidden('approached') }} as approached_hidden,
        {{ disclosure_hidden('refused') }} as refusals_hidden
    from cells
    left join verdicts as approached
        on approached.cell_id = {{ disclosure_cell_id('approached', ['cells.month', 'cells.fmp_code', 'cells.direction']) }}
    left join verdicts as refused
        on refused.cell_id = {{ disclosure_cell_id('refusals', ['cells.month', 'cells.fmp_code', 'cells.direction']) }}

),

published as (

    select
        -- dimensions
        month,
        fmp_code,
        direction,

        -- measures
        cast(case when approached_hidden then null else people_approached end as bigint)
            as people_approached,
        cast(
            case when approached_hidden or refusals_hidden then null else refusals end as bigint
        ) as refusals,
        case
            when approached_hidden or refusals_hidden then null
            else round(refusals / people_approached, 4)
        end as refusal_share,
        approached_hidden as suppressed

    from protected

)

select * from published
