{#-
    How safely people migrate, per corridor and quarter: one row per quarter x direction
    x origin province x destination country x indicator x category. Each indicator is a
    partition of the corridor's respondents (every category is a row, zero included),
    protected, with every other published count, by the one protection pass
    (int_disclosure_pattern). The median debt sits on the took_on_debt = yes row and is
    published only when that row and its base are and at least k debtors gave an amount.
-#}

with

interviews as (

    select * from {{ ref('fct_fms_interviews') }}

),

grid as (

    select * from {{ ref('int_safe_migration_categories_counted') }}

),

verdicts as (

    select * from {{ ref('int_disclosure_pattern') }}

),

debts as (

    -- the amount is optional: the median covers the debtors who gave one
    select
        interview_quarter as quarter,
        direction,
        origin_adm1_code,
        dest_country_iso3,
        'took_on_debt' as indicator,
        'yes' as category,
        count(debt_lak) as debt_amounts,
        cast(median(debt_lak) as double) as median_debt_lak
    from interviews
    where took_on_debt
    group by all

),

protected as (

    select
        grid.*,
        {{ disclosure_hidden('base') }} as base_hidden,
        {{ disclosure_hidden('category') }} as is_hidden
    from grid
    left join verdicts as base
        on base.cell_id = {{ disclosure_cell_id('safe_corridor', ['grid.quarter', 'grid.direction', 'grid.origin_adm1_code', 'grid.dest_country_iso3']) }}
    left join verdicts as category
        on category.cell_id = {{ disclosure_cell_id('safe_category', ['grid.quarter', 'grid.direction', 'grid.origin_adm1_code', 'grid.dest_country_iso3', 'grid.indicator', 'grid.category']) }}

),

published as (

    select
        -- dimensions
        protected.quarter,
        protected.direction,
        protected.origin_adm1_code,
        protected.dest_country_iso3,
        protected.indicator,
        protected.category,

        -- measures
        cast(
            case when protected.base_hidden then null else protected.corridor_respondents end
            as bigint
        ) as corridor_respondents,
        cast(case when protected.is_hidden then null else protected.respondents end as bigint)
            as respondents,
        -- a share of a withheld base would give the base away
        case
            when protected.is_hidden or protected.base_hidden then null
            else cast(protected.respondents / protected.corridor_respondents as double)
        end as share,
        -- a median over fewer than k people discloses their amounts
        case
            when protected.is_hidden
                or protected.base_hidden
                or coalesce(debts.debt_amounts, 0) < {{ suppression_k() }}
                then null
            else debts.median_debt_lak
        end as median_debt_lak,
        protected.is_hidden as suppressed

    from protected
    left join debts
        on protected.quarter = debts.quarter
        and protected.direction = debts.direction
        and protected.origin_adm1_code = debts.origin_adm1_code
        and protected.dest_country_iso3 = debts.dest_country_iso3
        and protected.indicator = debts.indicator
        and protected.category = debts.category

)

select * from published
