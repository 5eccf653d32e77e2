with

source as (

    select * from {{ source('fms', 'fms_submissions') }}

),

renamed as (

    select
        -- ids
        _uuid as submission_uuid,
        cast(_id as bigint) as kobo_id,
        instance_id,
        deprecated_id as deprecated_instance_id,
        enumerator_id,

        -- submission state
        replace(_validation_status, 'validation_status_', '') as validation_status,
        _status as kobo_status,
        __version__ as form_version,
        _tags as kobo_tags,

        -- interview
        fmp as fmp_code,
        direction,
        consent = 'yes' as has_consent,

        -- respondent profile
        sex,
        cast(age as integer) as age,
        nationality as nationality_code,
        ethnicity,
        marital_status,
        education,
        cast(children as integer) as children,

        -- origin and journey
        origin_adm1 as origin_adm1_code,
        origin_adm2 as origin_adm2_code,
        dest_country as dest_country_code,
        dest_area as dest_area_code,
        reason,
        string_split(transport, ' ') as transport_modes,
        travel_with,
        string_split(cost_paid_by, ' ') as cost_paid_by,

        -- work
        employment_before,
        sector_before,
        job_secured = 'yes' as has_job_secured,
        sector_destination,
        expected_income_currency,
        recruitment_channel,
        has_contract,
        string_split(documents, ' ') as documents,
        intended_stay,
        cast(previous_migrations as integer) as previous_migrations,
        plans_remit,
        string_split(risks_experienced, ' ') as risks_experienced,

        -- measures
        cast(journey_cost_lak as bigint) as journey_cost_lak,
        cast(debt_lak as bigint) as debt_lak,
        cast(income_before_lak as bigint) as income_before_lak,
        cast(expected_income as double) as expected_income,

        -- dates and timestamps
        cast(today as date) as interview_date,
        cast(start as timestamptz) as started_at,
        cast("end" as timestamptz) as ended_at,
        cast(_submission_time || '+00:00' as timestamptz) as submitted_at,

        -- kept as found
        cast(extra_columns as json) as extra_columns,

        -- lineage
        source_file,
        cast(source_row as integer) as source_row,
        row_hash,
        loaded_run_id,
        loaded_at

    from source

)

select * from renamed
