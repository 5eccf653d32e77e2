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
    (int_fms_submission_versions) is a graph over all versions and is rebuilt each run.

    Only survey answers live here: exchange rates and names are joined in the marts, so
    a changed rate or reference never leaves a stale value behind in this table.
-#}

{{ config(
    materialized='incremental',
    unique_key='chain_root_uuid',
    incremental_strategy='fms_chains',
    on_schema_change='fail',
) }}

-- depends_on: {{ ref('int_fms_submission_versions') }}

with

submissions as (

    select * from {{ ref('int_fms_submissions_resolved') }}
    {% if is_incremental() -%}
    where chain_root_uuid in ({{ fms_touched_chains(this) }})
    {%- endif %}

),

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

        -- respondent profile
        sex,
        age,
        {{ age_band('age') }} as age_band,
        nationality_code,
        ethnicity,
        marital_status,
        education,
        children,

        -- origin and journey
        origin_adm1_code,
        origin_adm2_code,
        -- the form's 'other' country has no ISO 3166-1 code; XXX is the code ICAO Doc 9303
        -- reserves for an unspecified nationality, so the column stays 3 letters
        case
            when dest_country_code = 'other' then 'XXX'
            else dest_country_code
        end as dest_country_iso3,
        dest_area_code,
        reason,
        transport_modes,
        travel_with,
        cost_paid_by,
        coalesce(list_contains(cost_paid_by, 'loan'), false) as took_on_debt,

        -- work
        employment_before,
        sector_before,
        has_job_secured,
        sector_destination,
        recruitment_channel,
        has_contract,
        documents,
        coalesce(list_contains(documents, 'passport'), false) as holds_passport,
        coalesce(list_contains(documents, 'border_pass'), false) as holds_border_pass,
        coalesce(list_contains(documents, 'work_permit'), false) as holds_work_permit,
        intended_stay,
        previous_migrations,
        plans_remit,
        risks_experienced,

        -- measures
        journey_cost_lak,
        debt_lak,
        income_before_lak,
        expected_income,
        expected_income_currency,

        -- lineage
        version_number,
        submitted_at,
        chain_loaded_at

    from counted

)

select * from interviews
