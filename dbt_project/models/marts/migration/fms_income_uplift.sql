{#-
    What migrants earn before and at destination, per corridor (direction x origin
    province x destination country) and sector at destination, over all interviews.

    Income at destination (`expected_income`: expected on outflow, earned on inflow) is
    converted to LAK with its currency's rate for the interview month, and both incomes
    to USD with that month's LAK per USD (int_fx_rates_monthly: landing-zone override,
    else shipped seed, else the latest earlier month). A cell counts the respondents who
    gave both incomes and whose amounts could be converted; every median is over exactly
    those respondents, and all of them are NULL when fewer than k stand behind the cell.
    Rows are disjoint cells and the table holds no totals.
-#}

with

interviews as (

    select * from {{ ref('fct_fms_interviews') }}

),

rates as (

    select * from {{ ref('int_fx_rates_monthly') }}

),

converted as (

    select
        interviews.direction,
        interviews.origin_adm1_code,
        interviews.dest_country_iso3,
        coalesce(interviews.sector_destination, 'not_stated') as sector_destination,
        interviews.income_before_lak,
        interviews.expected_income * income_rate.lak_per_unit as income_destination_lak,
        usd_rate.lak_per_unit as lak_per_usd
    from interviews
    inner join rates as income_rate
        on interviews.interview_month = income_rate.month
        and interviews.expected_income_currency = income_rate.currency
    inner join rates as usd_rate
        on interviews.interview_month = usd_rate.month
        and usd_rate.currency = 'USD'
    where interviews.income_before_lak is not null
        and interviews.expected_income is not null

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

published as (

    select
        -- dimensions
        direction,
        origin_adm1_code,
        dest_country_iso3,
        sector_destination,

        -- measures: all NULL when the cell is suppressed
        cast({{ suppress_count('respondents') }} as bigint) as respondents,
        {%- for measure in [
            'median_income_before_lak', 'median_income_destination_lak',
            'median_income_before_usd', 'median_income_destination_usd',
        ] %}
        case when {{ is_suppressed('respondents') }} then null else {{ measure }} end
            as {{ measure }},
        {%- endfor %}
        case
            when {{ is_suppressed('respondents') }} then null
            else median_income_destination_lak / nullif(median_income_before_lak, 0)
        end as income_ratio,
        {{ is_suppressed('respondents') }} as suppressed

    from cells

)

select * from published
