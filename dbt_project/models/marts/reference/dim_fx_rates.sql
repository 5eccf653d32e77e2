with

rates as (

    select * from {{ ref('int_fx_rates_monthly') }}

),

usd as (

    select month, lak_per_unit as lak_per_usd
    from rates
    where currency = 'USD'

),

dimension as (

    select
        -- ids
        rates.month,
        rates.currency,

        -- measures
        rates.lak_per_unit,
        rates.lak_per_unit / usd.lak_per_usd as usd_per_unit,

        -- provenance
        rates.rate_source,
        rates.rate_month

    from rates
    left join usd on rates.month = usd.month

)

select * from dimension
