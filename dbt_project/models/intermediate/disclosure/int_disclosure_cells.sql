{#-
    Every cell of the one protection pass: each respondent count a mart publishes (kind ->
    table), and the unpublished margins that link the tables (a province-quarter total that
    fms_origin_profile_quarterly and fms_safe_migration_quarterly both add up to, the
    respondents without a document, ...). int_disclosure_relations says how they add up;
    int_disclosure_pattern decides which are published.

    sensitive: false for counts that need no protection (see the final select).
    min_value: what a reader knows a cell holds at least. A corridor, area, income or
    refusal row exists only when someone stands behind it, so a suppressed one still says
    "at least 1"; category rows and story_coverage's provinces form full grids (0 allowed).
    follows: a count withheld whenever its base is (female_respondents with respondents,
    a crossing point's holders with its respondents, refusals with people approached).
-#}

{%- set months_to_quarter = "cast(date_trunc('quarter', month) as date)" %}

with

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

    -- empty: no survey respondent and nobody approached at the point that month (a row the
    -- registry alone saw): provably 0 from fms_refusals_monthly's missing row, and no
    -- person stands behind it, so there is nothing to protect
    select
        counted.*,
        counted.respondents = 0 and approached.month is null as is_empty
    from {{ ref('int_crossing_points_counted') }} as counted
    left join {{ ref('int_refusals_counted') }} as approached
        on counted.month = approached.month
        and counted.fmp_code = approached.fmp_code
        and counted.direction = approached.direction

),

refusals as (

    select * from {{ ref('int_refusals_counted') }}

),

incomes as (

    select * from {{ ref('int_incomes_converted') }}

),

interviews as (

    select * from {{ ref('fct_fms_interviews') }}

),

provinces as (

    select * from {{ ref('dim_provinces') }}

),

raw_submissions as (

    select count(*) as versions from {{ source('fms', 'fms_submissions') }}

),

documents as (

    select * from (values ('passport'), ('border_pass'), ('work_permit')) as d (document)

),

cells as (

    -- fms_corridor_monthly
    select
        {{ disclosure_cell_id('corridor', ['month', 'direction', 'origin_adm1_code', 'dest_country_iso3']) }} as cell_id,
        'fms_corridor_monthly' as table_name, respondents,
        true as publishable, true as suppressible, 1 as min_value, null as follows
    from corridors

    union all
    select
        {{ disclosure_cell_id('corridor_female', ['month', 'direction', 'origin_adm1_code', 'dest_country_iso3']) }},
        'fms_corridor_monthly', female_respondents, true, true, 0,
        {{ disclosure_cell_id('corridor', ['month', 'direction', 'origin_adm1_code', 'dest_country_iso3']) }}
    from corridors

    union all
    select
        {{ disclosure_cell_id('corridor_not_female', ['month', 'direction', 'origin_adm1_code', 'dest_country_iso3']) }},
        null, respondents - female_respondents, false, true, 0, null
    from corridors

    -- fms_safe_migration_quarterly
    union all
    select distinct
        {{ disclosure_cell_id('safe_corridor', ['quarter', 'direction', 'origin_adm1_code', 'dest_country_iso3']) }},
        'fms_safe_migration_quarterly', corridor_respondents, true, true, 1, null
    from safe

    union all
    select
        {{ disclosure_cell_id('safe_category', ['quarter', 'direction', 'origin_adm1_code', 'dest_country_iso3', 'indicator', 'category']) }},
        'fms_safe_migration_quarterly', respondents, true, true, 0, null
    from safe

    -- fms_origin_profile_quarterly
    union all
    select distinct
        {{ disclosure_cell_id('area', ['quarter', 'origin_adm1_code', 'origin_adm2_code']) }},
        'fms_origin_profile_quarterly', area_respondents, true, true, 1, null
    from origin

    union all
    select
        {{ disclosure_cell_id('area_category', ['quarter', 'origin_adm1_code', 'origin_adm2_code', 'breakdown', 'category']) }},
        'fms_origin_profile_quarterly', respondents, true, true, 0, null
    from origin

    -- margins the survey tables share (never published)
    union all
    select
        {{ disclosure_cell_id('province_quarter', ['interview_quarter', 'origin_adm1_code']) }},
        null, count(*), false, true, 1, null
    from interviews
    group by interview_quarter, origin_adm1_code

    union all
    select
        {{ disclosure_cell_id('province_quarter_female', ['interview_quarter', 'origin_adm1_code']) }},
        null, count(*) filter (where sex = 'female'), false, true, 0, null
    from interviews
    group by interview_quarter, origin_adm1_code

    union all
    select
        {{ disclosure_cell_id('month_direction', ['month', 'direction']) }},
        null, sum(respondents), false, true, 0, null
    from crossings
    group by month, direction

    union all
    select
        {{ disclosure_cell_id('quarter_direction_document', [months_to_quarter, 'direction', 'document']) }},
        null,
        sum(case document
            when 'passport' then passport_holders
            when 'border_pass' then border_pass_holders
            else work_permit_holders
        end),
        false, true, 0, null
    from crossings
    cross join documents
    group by {{ months_to_quarter }}, direction, document

    -- crossing_point_monthly (survey part)
    union all
    select
        {{ disclosure_cell_id('crossing', ['month', 'fmp_code', 'direction']) }},
        'crossing_point_monthly', respondents, not is_empty, true, 0, null
    from crossings

    union all
    select
        {{ disclosure_cell_id('crossing_holders', ['month', 'fmp_code', 'direction', 'document']) }},
        'crossing_point_monthly', holders, not is_empty, true, 0,
        {{ disclosure_cell_id('crossing', ['month', 'fmp_code', 'direction']) }}
    from (
        select
            crossings.*,
            documents.document,
            case documents.document
                when 'passport' then passport_holders
                when 'border_pass' then border_pass_holders
                else work_permit_holders
            end as holders
        from crossings
        cross join documents
    )

    union all
    select
        {{ disclosure_cell_id('crossing_non_holders', ['month', 'fmp_code', 'direction', 'document']) }},
        null, respondents - holders, false, true, 0, null
    from (
        select
            crossings.*,
            documents.document,
            case documents.document
                when 'passport' then passport_holders
                when 'border_pass' then border_pass_holders
                else work_permit_holders
            end as holders
        from crossings
        cross join documents
    )

    -- fms_refusals_monthly
    union all
    select
        {{ disclosure_cell_id('approached', ['month', 'fmp_code', 'direction']) }},
        -- withheld with its refusals: people_approached minus crossing_point_monthly's
        -- respondents is the refusal count
        'fms_refusals_monthly', people_approached, true, true, 1,
        {{ disclosure_cell_id('refusals', ['month', 'fmp_code', 'direction']) }}
    from refusals

    union all
    select
        {{ disclosure_cell_id('refusals', ['month', 'fmp_code', 'direction']) }},
        'fms_refusals_monthly', refusals, true, true, 0,
        {{ disclosure_cell_id('approached', ['month', 'fmp_code', 'direction']) }}
    from refusals

    union all
    select {{ disclosure_cell_id('refusals_all', []) }}, null, coalesce(sum(refusals), 0),
        false, true, 0, null
    from refusals

    -- fms_income_uplift: a subset of each corridor's respondents (all quarters); the rest
    -- gave no income (or one that could not be converted)
    union all
    select
        {{ disclosure_cell_id('income', ['direction', 'origin_adm1_code', 'dest_country_iso3', 'sector_destination']) }},
        'fms_income_uplift', count(*), true, true, 1, null
    from incomes
    group by direction, origin_adm1_code, dest_country_iso3, sector_destination

    union all
    select
        {{ disclosure_cell_id('corridor_all', ['direction', 'origin_adm1_code', 'dest_country_iso3']) }},
        null, count(*), false, true, 1, null
    from interviews
    group by direction, origin_adm1_code, dest_country_iso3

    union all
    select
        {{ disclosure_cell_id('corridor_without_income', ['s.direction', 's.origin_adm1_code', 's.dest_country_iso3']) }},
        null, s.respondents - coalesce(i.respondents, 0), false, true, 0, null
    from (
        select direction, origin_adm1_code, dest_country_iso3, count(*) as respondents
        from interviews
        group by all
    ) as s
    left join (
        select direction, origin_adm1_code, dest_country_iso3, count(*) as respondents
        from incomes
        group by all
    ) as i
        on s.direction = i.direction
        and s.origin_adm1_code = i.origin_adm1_code
        and s.dest_country_iso3 = i.dest_country_iso3

    -- story_coverage: every Lao province, zero included
    union all
    select
        {{ disclosure_cell_id('province', ['provinces.adm1_code']) }},
        -- a province without any respondent is empty: every other table tells it by its
        -- missing rows, and no person stands behind it
        'story_coverage', coalesce(counts.respondents, 0), counts.respondents is not null,
        true, 0, null
    from provinces
    left join (
        select origin_adm1_code, count(*) as respondents from interviews group by all
    ) as counts on provinces.adm1_code = counts.origin_adm1_code
    where provinces.country_iso3 = 'LAO'

    -- the published ops: the FMS rows loaded (every version of every submission, refusals
    -- and rejections included) bound the respondents from above, so they are a cell too,
    -- one that is always published
    union all
    select {{ disclosure_cell_id('respondents_all', []) }}, null, count(*), false, true, 0, null
    from interviews

    union all
    select {{ disclosure_cell_id('ops_fms_rows_loaded', []) }}, 'ops.file_loads', versions,
        true, false, 0, null
    from raw_submissions

    union all
    select {{ disclosure_cell_id('ops_fms_rows_not_counted', []) }}, null,
        versions - (select count(*) from interviews)
            - (select coalesce(sum(refusals), 0) from refusals),
        false, true, 0, null
    from raw_submissions

)

select
    cell_id,
    split_part(cell_id, '|', 1) as kind,
    table_name,
    cast(respondents as bigint) as respondents,
    publishable,
    suppressible,
    cast(min_value as integer) as min_value,
    cast(follows as varchar) as follows,
    -- below k, an unpublished count must stay unknown too (the men of a corridor whose
    -- respondents and women are published: the other side of a published split, as
    -- macros/suppress.sql always protected it); not so for rows nobody stands behind
    -- (empty, see above), for the submissions no table counts (rejected, superseded), nor
    -- for the respondents of a corridor who gave no convertible income (not an answer any
    -- table publishes; the income cells themselves stay protected)
    not (
        (table_name is not null and not publishable)
        or split_part(cell_id, '|', 1) in ('ops_fms_rows_not_counted', 'corridor_without_income')
    ) as sensitive
from cells
