{#-
    What migrants earn before and at destination, per corridor (direction x origin
    province x destination country) and sector at destination, over all interviews.

    Income at destination (`expected_income`: expected on outflow, earned on inflow) is
    converted to LAK with its currency's rate for the interview month, and both incomes
    to USD with that month's LAK per USD (int_fx_rates_monthly: landing-zone override,
    else shipped seed, else the latest earlier month). A cell counts the respondents who
    gave both incomes and whose amounts could be converted; every median is over exactly
    those respondents. The count is published when the one protection pass
    (int_disclosure_pattern) published its cell (at least k respondents, and nothing else
    published narrows a withheld one), and every median and the ratio only beside it.
-#}

with

converted as (

    select * from {{ ref('int_incomes_converted') }}

),

verdicts as (

    select * from {{ ref('int_disclosure_pattern') }}

),

cells as (

    select
        direction,
        origin_adm1_code,
        dest_country_iso3,
        sector_destination,
        count(*) as respondents,
        cast(median(income_before_lak) as double) as median_income_before_lak,
        cast(median(income_destination_lak) as double) as median_income_destination_lak,
        cast(median(income_before_lak / lak_per_usd) as double) as median_income_before_usd,
        cast(median(income_destination_lak / lak_per_usd) as double)
            as median_income_destination_usd
    from converted
    group by all

),

protected as (

    select
        cells.*,
        {{ disclosure_hidden('verdict') }} as is_hidden
    from cells
    left join verdicts as verdict
        on verdict.cell_id = {{ disclosure_cell_id('income', ['cells.direction', 'cells.origin_adm1_code', 'cells.dest_country_iso3', 'cells.sector_destination']) }}

),

published as (

    select
        -- dimensions
        direction,
        origin_adm1_code,
        dest_country_iso3,
        sector_destination,

        -- measures: all NULL when the cell is withheld
        cast(case when is_hidden then null else respondents end as bigint) as respondents,
        {%- for measure in [
            'median_income_before_lak', 'median_income_destination_lak',
            'median_income_before_usd', 'median_income_destination_usd',
        ] %}
        case when is_hidden then null else {{ measure }} end as {{ measure }},
        {%- endfor %}
        case
            when is_hidden then null
            else median_income_destination_lak / nullif(median_income_before_lak, 0)
        end as income_ratio,
        is_hidden as suppressed

    from protected

)

select * from published
