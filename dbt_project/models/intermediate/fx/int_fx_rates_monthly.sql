{#-
    Lao kip per unit of each currency, for every calendar month.

    Precedence, per month and currency:
      1. override         the landing zone's reference/fx_rates.csv (raw.fx_rates)
      2. seed             the shipped default (seeds/fx_rates_monthly.csv)
      3. carried_forward  the latest earlier month's rate (from 1 or 2), for months with
                          neither, e.g. after the seed's last month
    Months before a currency's first quoted rate have no row: an amount in that currency
    then has no LAK value (NULL), rather than a guessed one. LAK itself is 1 every month.
-#}

{{ config(materialized='table') }}

with

months as (

    select month from {{ ref('int_calendar_months') }}

),

shipped as (

    select
        cast(strptime(month, '%Y-%m') as date) as month,
        upper(currency) as currency,
        cast(lak_per_unit as double) as lak_per_unit,
        'seed' as rate_source
    from {{ ref('fx_rates_monthly') }}

),

overrides as (

    select
        month,
        currency,
        lak_per_unit,
        'override' as rate_source
    from {{ ref('stg_fx__rate_overrides') }}

),

quoted as (

    -- an override replaces the shipped rate for its month and currency
    select * from overrides

    union all

    select shipped.*
    from shipped
    anti join overrides on shipped.month = overrides.month
        and shipped.currency = overrides.currency

),

currencies as (

    select distinct currency from quoted
    where currency <> 'LAK'

),

grid as (

    select months.month, currencies.currency
    from months
    cross join currencies

),

carried as (

    select
        grid.month,
        grid.currency,
        quoted.rate_source,
        last_value(quoted.lak_per_unit ignore nulls) over latest as lak_per_unit,
        last_value(quoted.month ignore nulls) over latest as rate_month
    from grid
    left join quoted on grid.month = quoted.month and grid.currency = quoted.currency
    window latest as (
        partition by grid.currency
        order by grid.month
        rows between unbounded preceding and current row
    )

),

rates as (

    select
        -- ids
        month,
        currency,

        -- measures
        lak_per_unit,

        -- provenance
        coalesce(rate_source, 'carried_forward') as rate_source,
        rate_month

    from carried
    where lak_per_unit is not null

    union all

    select
        month,
        'LAK' as currency,
        1.0 as lak_per_unit,
        'identity' as rate_source,
        month as rate_month
    from months

)

select * from rates
