with

cells as (

    -- consenting, not rejected, final versions (edits resolved upstream)
    select * from {{ ref('int_corridor_months_counted') }}

),

verdicts as (

    select * from {{ ref('int_disclosure_pattern') }}

),

published as (

    select
        -- dimensions
        cells.month,
        cells.direction,
        cells.origin_adm1_code,
        cells.dest_country_iso3,

        -- measures, each published only when the one protection pass published its cell
        cast(
            case when {{ disclosure_hidden('total') }} then null else cells.respondents end
            as bigint
        ) as respondents,
        cast(
            case when {{ disclosure_hidden('female') }} then null else cells.female_respondents end
            as bigint
        ) as female_respondents,
        {{ disclosure_hidden('total') }} as suppressed

    from cells
    left join verdicts as total
        on total.cell_id = {{ disclosure_cell_id('corridor', ['cells.month', 'cells.direction', 'cells.origin_adm1_code', 'cells.dest_country_iso3']) }}
    left join verdicts as female
        on female.cell_id = {{ disclosure_cell_id('corridor_female', ['cells.month', 'cells.direction', 'cells.origin_adm1_code', 'cells.dest_country_iso3']) }}

)

select * from published
