{#-
    Edit resolution: one row per survey submission, holding its final version only (see
    int_fms_submission_versions), with the two flags every mart filters on. A view, read
    whole by int_refusals_counted, audit_quality_facts and a full build of
    fct_fms_interviews. An incremental run of the fact resolves only the versions of the
    chains it re-derives, with the same macro (resolved_submissions, macros/fms.sql).
-#}

{{ resolved_submissions(
    ref('int_fms_submission_versions'), ref('stg_fms__submissions')
) }}
