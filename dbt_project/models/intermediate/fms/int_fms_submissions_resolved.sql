{#-
    Edit resolution: one row per survey submission, holding its final version only (see
    int_fms_submission_versions), with the two flags every mart filters on. A view: only
    fct_fms_interviews reads it (and, on an incremental run, only for the chains touched
    since its last run).
-#}

with

versions as (

    select * from {{ ref('int_fms_submission_versions') }}

),

submissions as (

    select * from {{ ref('stg_fms__submissions') }}

),

final_versions as (

    select
        submissions.*,
        versions.chain_root_uuid,
        versions.version_number,
        versions.chain_loaded_at
    from versions
    inner join submissions on versions.submission_uuid = submissions.submission_uuid
    where versions.is_final_version

),

flagged as (

    select
        *,
        not has_consent as is_refusal,
        coalesce(validation_status = 'not_approved', false) as is_rejected
    from final_versions

)

select * from flagged
