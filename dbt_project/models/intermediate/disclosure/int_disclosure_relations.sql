{#-
    How the cells of int_disclosure_cells add up, as a reader of the published database
    can tell: one row per member of a relation "parent = sum of children" (is_parent marks
    the parent). Within tables (a base and its categories) and across them through their
    shared margins: month within quarter, area and corridor within province-quarter, point
    within month x direction, documents within quarter x direction, refusals plus
    respondents = people approached, income respondents within corridor x sector, provinces
    within all respondents, and all respondents within the FMS rows ops.file_loads counts.

    Every unpublished margin is a cell wherever a reader can tell it exists, never only
    where it is not zero: a missing margin would tell the LP it is 0, which no reader knows.
-#}

{%- set quarter_of_month = "cast(date_trunc('quarter', month) as date)" %}
{%- set corridor_month = ['month', 'direction', 'origin_adm1_code', 'dest_country_iso3'] %}
{%- set corridor_quarter = ['quarter', 'direction', 'origin_adm1_code', 'dest_country_iso3'] %}

with

cells as (

    select * from {{ ref('int_disclosure_cells') }}

),

corridors as (

    select * from {{ ref('int_corridor_months_counted') }}

),

safe as (

    select * from {{ ref('int_safe_migration_categories_counted') }}

),

origin as (

    select * from {{ ref('int_origin_profile_categories_counted') }}

),

crossings as (

    select * from {{ ref('int_crossing_points_counted') }}

),

refusals as (

    select * from {{ ref('int_refusals_counted') }}

),

documents as (

    select * from (values ('passport'), ('border_pass'), ('work_permit')) as d (document)

),

members as (

    -- a corridor-month: female + not female
    select
        {{ disclosure_cell_id('corridor_sex', corridor_month) }} as relation_id,
        {{ disclosure_cell_id('corridor', corridor_month) }} as cell_id,
        true as is_parent
    from corridors
    union all
    select {{ disclosure_cell_id('corridor_sex', corridor_month) }},
        {{ disclosure_cell_id('corridor_female', corridor_month) }}, false
    from corridors
    union all
    select {{ disclosure_cell_id('corridor_sex', corridor_month) }},
        {{ disclosure_cell_id('corridor_not_female', corridor_month) }}, false
    from corridors

    -- a corridor-quarter: its months
    union all
    select distinct {{ disclosure_cell_id('corridor_months', corridor_quarter) }},
        {{ disclosure_cell_id('safe_corridor', corridor_quarter) }}, true
    from safe
    union all
    select
        {{ disclosure_cell_id('corridor_months', [quarter_of_month, 'direction', 'origin_adm1_code', 'dest_country_iso3']) }},
        {{ disclosure_cell_id('corridor', corridor_month) }}, false
    from corridors

    -- a corridor-quarter: the categories of each indicator
    union all
    select distinct {{ disclosure_cell_id('safe_indicator', corridor_quarter + ['indicator']) }},
        {{ disclosure_cell_id('safe_corridor', corridor_quarter) }}, true
    from safe
    union all
    select {{ disclosure_cell_id('safe_indicator', corridor_quarter + ['indicator']) }},
        {{ disclosure_cell_id('safe_category', corridor_quarter + ['indicator', 'category']) }}, false
    from safe

    -- an origin area: the categories of each breakdown
    union all
    select distinct
        {{ disclosure_cell_id('area_breakdown', ['quarter', 'origin_adm1_code', 'origin_adm2_code', 'breakdown']) }},
        {{ disclosure_cell_id('area', ['quarter', 'origin_adm1_code', 'origin_adm2_code']) }}, true
    from origin
    union all
    select
        {{ disclosure_cell_id('area_breakdown', ['quarter', 'origin_adm1_code', 'origin_adm2_code', 'breakdown']) }},
        {{ disclosure_cell_id('area_category', ['quarter', 'origin_adm1_code', 'origin_adm2_code', 'breakdown', 'category']) }},
        false
    from origin

    -- a province-quarter: its areas, and its corridors
    union all
    select distinct {{ disclosure_cell_id('province_quarter_areas', ['quarter', 'origin_adm1_code']) }},
        {{ disclosure_cell_id('province_quarter', ['quarter', 'origin_adm1_code']) }}, true
    from origin
    union all
    select distinct {{ disclosure_cell_id('province_quarter_areas', ['quarter', 'origin_adm1_code']) }},
        {{ disclosure_cell_id('area', ['quarter', 'origin_adm1_code', 'origin_adm2_code']) }}, false
    from origin
    union all
    select distinct {{ disclosure_cell_id('province_quarter_corridors', ['quarter', 'origin_adm1_code']) }},
        {{ disclosure_cell_id('province_quarter', ['quarter', 'origin_adm1_code']) }}, true
    from safe
    union all
    select distinct {{ disclosure_cell_id('province_quarter_corridors', ['quarter', 'origin_adm1_code']) }},
        {{ disclosure_cell_id('safe_corridor', corridor_quarter) }}, false
    from safe

    -- the women of a province-quarter: by area (origin profile), by corridor-month
    union all
    select distinct {{ disclosure_cell_id('province_quarter_female_areas', ['quarter', 'origin_adm1_code']) }},
        {{ disclosure_cell_id('province_quarter_female', ['quarter', 'origin_adm1_code']) }}, true
    from origin
    union all
    select {{ disclosure_cell_id('province_quarter_female_areas', ['quarter', 'origin_adm1_code']) }},
        {{ disclosure_cell_id('area_category', ['quarter', 'origin_adm1_code', 'origin_adm2_code', 'breakdown', 'category']) }},
        false
    from origin
    where breakdown = 'sex' and category = 'female'
    union all
    select distinct
        {{ disclosure_cell_id('province_quarter_female_corridors', [quarter_of_month, 'origin_adm1_code']) }},
        {{ disclosure_cell_id('province_quarter_female', [quarter_of_month, 'origin_adm1_code']) }}, true
    from corridors
    union all
    select
        {{ disclosure_cell_id('province_quarter_female_corridors', [quarter_of_month, 'origin_adm1_code']) }},
        {{ disclosure_cell_id('corridor_female', corridor_month) }}, false
    from corridors

    -- a corridor over all quarters (fms_income_uplift's base): its quarters; its income
    -- respondents by sector plus those without an income
    union all
    select distinct
        {{ disclosure_cell_id('corridor_quarters', ['direction', 'origin_adm1_code', 'dest_country_iso3']) }},
        {{ disclosure_cell_id('corridor_all', ['direction', 'origin_adm1_code', 'dest_country_iso3']) }},
        true
    from safe
    union all
    select distinct
        {{ disclosure_cell_id('corridor_quarters', ['direction', 'origin_adm1_code', 'dest_country_iso3']) }},
        {{ disclosure_cell_id('safe_corridor', corridor_quarter) }}, false
    from safe
    union all
    select replace(cell_id, 'corridor_all|', 'corridor_incomes|'), cell_id, true
    from cells where kind = 'corridor_all'
    union all
    select
        replace(cell_id, 'corridor_without_income|', 'corridor_incomes|'), cell_id, false
    from cells where kind = 'corridor_without_income'
    union all
    select distinct
        {{ disclosure_cell_id('corridor_incomes', ['direction', 'origin_adm1_code', 'dest_country_iso3']) }},
        {{ disclosure_cell_id('income', ['direction', 'origin_adm1_code', 'dest_country_iso3', 'sector_destination']) }},
        false
    from {{ ref('int_incomes_converted') }}

    -- a crossing point: holders + non-holders of each document
    union all
    select {{ disclosure_cell_id('crossing_document', ['month', 'fmp_code', 'direction', 'document']) }},
        {{ disclosure_cell_id('crossing', ['month', 'fmp_code', 'direction']) }}, true
    from crossings cross join documents
    union all
    select {{ disclosure_cell_id('crossing_document', ['month', 'fmp_code', 'direction', 'document']) }},
        {{ disclosure_cell_id('crossing_holders', ['month', 'fmp_code', 'direction', 'document']) }}, false
    from crossings cross join documents
    union all
    select {{ disclosure_cell_id('crossing_document', ['month', 'fmp_code', 'direction', 'document']) }},
        {{ disclosure_cell_id('crossing_non_holders', ['month', 'fmp_code', 'direction', 'document']) }}, false
    from crossings cross join documents

    -- a month x direction: its points, and its corridors
    union all
    select distinct {{ disclosure_cell_id('month_direction_points', ['month', 'direction']) }},
        {{ disclosure_cell_id('month_direction', ['month', 'direction']) }}, true
    from crossings
    union all
    select {{ disclosure_cell_id('month_direction_points', ['month', 'direction']) }},
        {{ disclosure_cell_id('crossing', ['month', 'fmp_code', 'direction']) }}, false
    from crossings
    union all
    select distinct {{ disclosure_cell_id('month_direction_corridors', ['month', 'direction']) }},
        {{ disclosure_cell_id('month_direction', ['month', 'direction']) }}, true
    from corridors
    union all
    select {{ disclosure_cell_id('month_direction_corridors', ['month', 'direction']) }},
        {{ disclosure_cell_id('corridor', corridor_month) }}, false
    from corridors

    -- holders of a document in a quarter x direction: by point-month, by corridor
    union all
    select distinct
        {{ disclosure_cell_id('document_points', [quarter_of_month, 'direction', 'document']) }},
        {{ disclosure_cell_id('quarter_direction_document', [quarter_of_month, 'direction', 'document']) }},
        true
    from crossings cross join documents
    union all
    select
        {{ disclosure_cell_id('document_points', [quarter_of_month, 'direction', 'document']) }},
        {{ disclosure_cell_id('crossing_holders', ['month', 'fmp_code', 'direction', 'document']) }},
        false
    from crossings cross join documents
    union all
    select distinct
        {{ disclosure_cell_id('document_corridors', ['quarter', 'direction', "replace(indicator, 'holds_', '')"]) }},
        {{ disclosure_cell_id('quarter_direction_document', ['quarter', 'direction', "replace(indicator, 'holds_', '')"]) }},
        true
    from safe
    where indicator in ('holds_passport', 'holds_border_pass', 'holds_work_permit')
    union all
    select
        {{ disclosure_cell_id('document_corridors', ['quarter', 'direction', "replace(indicator, 'holds_', '')"]) }},
        {{ disclosure_cell_id('safe_category', corridor_quarter + ['indicator', 'category']) }},
        false
    from safe
    where indicator in ('holds_passport', 'holds_border_pass', 'holds_work_permit')
        and category = 'yes'

    -- people approached = refusals + the point's respondents (crossing_point_monthly)
    union all
    select {{ disclosure_cell_id('approached_split', ['month', 'fmp_code', 'direction']) }},
        {{ disclosure_cell_id('approached', ['month', 'fmp_code', 'direction']) }}, true
    from refusals
    union all
    select {{ disclosure_cell_id('approached_split', ['month', 'fmp_code', 'direction']) }},
        {{ disclosure_cell_id('refusals', ['month', 'fmp_code', 'direction']) }}, false
    from refusals
    union all
    select {{ disclosure_cell_id('approached_split', ['r.month', 'r.fmp_code', 'r.direction']) }},
        {{ disclosure_cell_id('crossing', ['r.month', 'r.fmp_code', 'r.direction']) }}, false
    from refusals as r
    inner join crossings as c
        on r.month = c.month and r.fmp_code = c.fmp_code and r.direction = c.direction

    -- every refusal
    union all
    select {{ disclosure_cell_id('refusals_all', []) }}, {{ disclosure_cell_id('refusals_all', []) }}, true
    union all
    select {{ disclosure_cell_id('refusals_all', []) }},
        {{ disclosure_cell_id('refusals', ['month', 'fmp_code', 'direction']) }}, false
    from refusals

    -- a province (story_coverage): its quarters
    union all
    select {{ disclosure_cell_id('province_quarters', ['adm1_code']) }}, cell_id, true
    from (select *, split_part(cell_id, '|', 2) as adm1_code from cells where kind = 'province')
    union all
    select distinct {{ disclosure_cell_id('province_quarters', ['origin_adm1_code']) }},
        {{ disclosure_cell_id('province_quarter', ['quarter', 'origin_adm1_code']) }}, false
    from origin

    -- all respondents: the provinces; and with refusals and the rest, the FMS rows loaded
    union all
    select {{ disclosure_cell_id('provinces', []) }}, {{ disclosure_cell_id('respondents_all', []) }}, true
    union all
    select {{ disclosure_cell_id('provinces', []) }}, cell_id, false
    from cells where kind = 'province'
    union all
    select {{ disclosure_cell_id('ops_rows', []) }}, {{ disclosure_cell_id('ops_fms_rows_loaded', []) }}, true
    union all
    select {{ disclosure_cell_id('ops_rows', []) }}, {{ disclosure_cell_id('respondents_all', []) }}, false
    union all
    select {{ disclosure_cell_id('ops_rows', []) }}, {{ disclosure_cell_id('refusals_all', []) }}, false
    union all
    select {{ disclosure_cell_id('ops_rows', []) }}, {{ disclosure_cell_id('ops_fms_rows_not_counted', []) }}, false

)

select * from members
