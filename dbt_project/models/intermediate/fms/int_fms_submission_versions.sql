{#-
    Places every submission version on its edit chain.

    An edit arrives as a new submission whose deprecated_instance_id is
    'uuid:' || <submission_uuid of the version it replaces>. A version is superseded when
    another version names it that way. Chains are walked from their first present version
    (an original, or an edit whose predecessor never reached the warehouse), so the order
    in which files arrived plays no part.

    Each chain has exactly one final version: its last. If a chain forks (two edits of the
    same version, e.g. two supervisors editing at once), the most recently submitted tip
    wins (then the higher Kobo _id, then the uuid) and the other tip is not final.
    deprecatedID cycles have no first version and so no row here; the source test on
    fms_submissions._uuid warns about them.

    Built for millions of submissions: joins only (no correlated subqueries), and the
    chain walk, its aggregates and its window run on the few versions that take part in
    an edit. A version nobody edited and that edits nothing (nearly all of them) is its
    own one-version chain, passed straight through.

    Incremental, keyed on the version: each run re-derives every version that takes part
    in an edit (few; a new edit can join or fork any chain), plus the unedited versions
    loaded since the last run and those that took part in an edit before (an edit can be
    replaced by a version that edits nothing). delete+insert on submission_uuid then
    replaces their rows; the unedited rest, millions of them, is not rewritten. Like the
    fact, this needs loaded_at to grow from run to run, and a version erased from raw
    keeps its row until `--full-refresh` (tests/test_dbt_incremental.py compares with one).
-#}

{{ config(
    materialized='incremental',
    unique_key='submission_uuid',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}

with recursive

submissions as (

    select
        submission_uuid,
        deprecated_instance_id,
        loaded_at,
        -- the uuid of the version this one replaces ('uuid:' is checked by ingest)
        nullif(regexp_replace(deprecated_instance_id, '^uuid:', ''), '') as replaces_uuid
    from {{ ref('stg_fms__submissions') }}

),

replaced_uuids as (

    select distinct replaces_uuid as submission_uuid
    from submissions
    where replaces_uuid is not null

),

unedited as (

    -- neither an edit nor edited: a chain of one
    select
        submissions.submission_uuid,
        submissions.submission_uuid as chain_root_uuid,
        1 as version_number,
        false as replaces_absent_version,
        false as is_superseded,
        true as is_final_version,
        submissions.loaded_at,
        submissions.loaded_at as chain_loaded_at
    from submissions
    anti join replaced_uuids on submissions.submission_uuid = replaced_uuids.submission_uuid
    where submissions.replaces_uuid is null
    {%- if is_incremental() %}
        and (
            submissions.loaded_at is null
            or submissions.loaded_at > (
                select coalesce(max(loaded_at), '-infinity'::timestamp) from {{ this }}
            )
            or submissions.submission_uuid in (
                select submission_uuid from {{ this }}
                where version_number <> 1
                    or replaces_absent_version
                    or is_superseded
                    or not is_final_version
                    or chain_root_uuid <> submission_uuid
            )
        )
    {%- endif %}

),

involved_uuids as (

    select submission_uuid from submissions where replaces_uuid is not null
    union
    select submission_uuid from replaced_uuids

),

involved as (

    -- versions that edit or were edited, with what fork resolution needs
    select
        stg.submission_uuid,
        stg.submitted_at,
        stg.kobo_id,
        stg.loaded_at,
        nullif(regexp_replace(stg.deprecated_instance_id, '^uuid:', ''), '') as replaces_uuid,
        replaced_uuids.submission_uuid is not null as is_superseded
    from {{ ref('stg_fms__submissions') }} as stg
    semi join involved_uuids on stg.submission_uuid = involved_uuids.submission_uuid
    left join replaced_uuids on stg.submission_uuid = replaced_uuids.submission_uuid

),

flagged as (

    select
        involved.*,
        -- every present replaced version is itself involved
        replaced.submission_uuid is not null as replaces_present_version
    from involved
    left join involved as replaced on involved.replaces_uuid = replaced.submission_uuid

),

edits as (

    select submission_uuid, replaces_uuid
    from flagged
    where replaces_present_version

),

chains as (

    -- first present version of each chain: an original, or an edit of an absent version
    select
        submission_uuid,
        coalesce(replaces_uuid, submission_uuid) as chain_root_uuid,
        replaces_uuid is not null as replaces_absent_version,
        1 as version_number
    from flagged
    where not replaces_present_version

    union all

    select
        edits.submission_uuid,
        chains.chain_root_uuid,
        chains.replaces_absent_version,
        chains.version_number + 1 as version_number
    from chains
    inner join edits
        on edits.replaces_uuid = chains.submission_uuid

),

placed as (

    select
        chains.*,
        flagged.is_superseded,
        flagged.submitted_at,
        flagged.kobo_id,
        flagged.loaded_at
    from chains
    inner join flagged on chains.submission_uuid = flagged.submission_uuid

),

chain_summaries as (

    select
        chain_root_uuid,
        max(loaded_at) as chain_loaded_at,
        count(*) filter (where not is_superseded) as tips
    from placed
    group by chain_root_uuid

),

forked_tips as (

    -- rare: two edits of one version; the most recently submitted tip wins
    select
        placed.submission_uuid,
        row_number() over (
            partition by placed.chain_root_uuid
            order by placed.submitted_at desc, placed.kobo_id desc, placed.submission_uuid
        ) = 1 as wins
    from placed
    inner join chain_summaries on placed.chain_root_uuid = chain_summaries.chain_root_uuid
    where not placed.is_superseded
        and chain_summaries.tips > 1

),

edited as (

    select
        placed.submission_uuid,
        placed.chain_root_uuid,
        placed.version_number,
        placed.replaces_absent_version,
        placed.is_superseded,
        not placed.is_superseded and coalesce(forked_tips.wins, true) as is_final_version,
        placed.loaded_at,
        chain_summaries.chain_loaded_at
    from placed
    inner join chain_summaries on placed.chain_root_uuid = chain_summaries.chain_root_uuid
    left join forked_tips on placed.submission_uuid = forked_tips.submission_uuid

),

versions as (

    select
        -- ids
        submission_uuid,
        chain_root_uuid,

        -- chain position
        version_number,
        replaces_absent_version,
        is_superseded,
        is_final_version,

        -- lineage: when this version, and the latest version of its chain, were loaded
        loaded_at,
        chain_loaded_at

    from unedited

    union all

    select
        submission_uuid,
        chain_root_uuid,
        version_number,
        replaces_absent_version,
        is_superseded,
        is_final_version,
        loaded_at,
        chain_loaded_at
    from edited

)

select * from versions
