{#-
    fms_income_uplift's respondents: one row per interview that gave both incomes and whose
    amounts could be converted. Income at destination (`expected_income`: expected on
    outflow, earned on inflow) is converted to LAK with its currency's rate for the
    interview month, and both incomes to USD with that month's LAK per USD
    (int_fx_rates_monthly: landing-zone override, else shipped seed, else the latest
    earlier month). A currency with no rate yet for the month is left out.
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

)

select * from converted
