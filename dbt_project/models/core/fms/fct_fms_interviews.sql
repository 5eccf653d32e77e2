{#-
    One row per counted interview: the final version of each edit chain, consenting and
    not rejected. Internal (schema core): it holds respondent-level rows and is never
    published; every survey mart aggregates it.

    Incremental, keyed on the chain root. Each run re-derives only the chains touched
    since the last one (any version loaded after the fact's watermark): the batch below
    holds their counted final versions, and the `fms_chains` strategy (macros/fms.sql)
    deletes every fact row on a touched chain before inserting the batch. A chain whose
    final version became rejected, a refusal or was superseded therefore disappears or
    is replaced, and `dbt build --full-refresh` gives the same table
    (tests/test_dbt_incremental.py). Edit resolution itself
    (int_fms_submission_versions) re-derives every version that takes part in an edit.

    Only survey answers live here: exchange rates and names are joined in the marts, so
    a changed rate or reference never leaves a stale value behind in this table. And only
    the answers the marts use: the fact is rewritten for every touched chain and written
    whole on a full build (millions of rows), and the least data kept twice the better
    (documents, risks and the other sensitive lists stay in raw and staging). A mart that
    needs another answer adds its column here; the `fail` schema-change policy then asks
    for one `--full-refresh`, so no old row is left with the new column NULL.
-#}

{{ config(
    materialized='incremental',
    unique_key='chain_root_uuid',
    incremental_strategy='fms_chains',
    on_schema_change='fail',
) }}

-- depends_on: {{ ref('int_fms_submission_versions') }}
-- depends_on: {{ ref('stg_fms__submissions') }}

with

{% if is_incremental() -%}
touched_chains as (

    {{ fms_touched_chains(this) }}

),

touched_versions as (

    select *
    from {{ ref('int_fms_submission_versions') }}
    where chain_root_uuid in (select chain_root_uuid from touched_chains)

),

submissions as (

    -- the view's resolution, run on the touched chains' versions: DuckDB then joins the
    -- submissions to thousands of versions. Filtering the view instead joined every
    -- version to every submission first (5 M of each at 5 M submissions, ~1.3 GB of hash
    -- table) and kept the touched ones after.
    {{ resolved_submissions('touched_versions', ref('stg_fms__submissions')) }}

),
{%- else -%}
submissions as (

    select * from {{ ref('int_fms_submissions_resolved') }}

),
{%- endif %}

counted as (

    -- refusals count only toward refusal statistics; rejected submissions count nowhere
    select * from submissions
    where not is_refusal
        and not is_rejected

),

interviews as (

    select
        -- ids
        submission_uuid,
        chain_root_uuid,
        fmp_code,

        -- dates: the form's `today` is the date for all time-based reporting
        interview_date,
        cast(date_trunc('month', interview_date) as date) as interview_month,
        cast(date_trunc('quarter', interview_date) as date) as interview_quarter,

        -- interview
        direction,

        -- respondent
        sex,
        age,
        {{ age_band('age') }} as age_band,

        -- origin and journey
        origin_adm1_code,
        origin_adm2_code,
        -- the form's 'other' country has no ISO 3166-1 code; XXX is the code ICAO Doc 9303
        -- reserves for an unspecified nationality, so the column stays 3 letters
        case
            when dest_country_code = 'other' then 'XXX'
            else dest_country_code
        end as dest_country_iso3,
        reason,
        coalesce(list_contains(cost_paid_by, 'loan'), false) as took_on_debt,

        -- work
        sector_before,
        sector_destination,
        recruitment_channel,
        has_contract,
        coalesce(list_contains(documents, 'passport'), false) as holds_passport,
        coalesce(list_contains(documents, 'border_pass'), false) as holds_border_pass,
        coalesce(list_contains(documents, 'work_permit'), false) as holds_work_permit,

        -- measures
        debt_lak,
        income_before_lak,
        expected_income,
        expected_income_currency,

        -- lineage
        chain_loaded_at

    from counted

)

select * from interviews
