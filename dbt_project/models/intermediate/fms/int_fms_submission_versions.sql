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

    A table: edit resolution is a graph over every version, so it is rebuilt in full on
    each run (one scan of five narrow raw columns); the fact and the source test read it.
    Written with joins only (no correlated subqueries) so it stays one hash join per step
    at millions of submissions.
-#}

{{ config(materialized='table') }}

with recursive

submissions as (

    select
        submission_uuid,
        deprecated_instance_id,
        submitted_at,
        kobo_id,
        loaded_at
    from {{ ref('stg_fms__submissions') }}

),

links as (

    select
        *,
        -- the uuid of the version this one replaces ('uuid:' is checked by ingest)
        nullif(regexp_replace(deprecated_instance_id, '^uuid:', ''), '') as replaces_uuid
    from submissions

),

replaced_uuids as (

    select distinct replaces_uuid as submission_uuid
    from links
    where replaces_uuid is not null

),

flagged as (

    select
        links.*,
        replaced.submission_uuid is not null as replaces_present_version,
        superseded.submission_uuid is not null as is_superseded
    from links
    left join links as replaced
        on links.replaces_uuid = replaced.submission_uuid
    left join replaced_uuids as superseded
        on links.submission_uuid = superseded.submission_uuid

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

ranked_tips as (

    select
        chains.*,
        flagged.is_superseded,
        flagged.loaded_at,
        max(flagged.loaded_at) over (partition by chains.chain_root_uuid) as chain_loaded_at,
        row_number() over (
            partition by chains.chain_root_uuid, flagged.is_superseded
            order by flagged.submitted_at desc, flagged.kobo_id desc, chains.submission_uuid
        ) as tip_rank
    from chains
    inner join flagged on chains.submission_uuid = flagged.submission_uuid

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
        not is_superseded and tip_rank = 1 as is_final_version,

        -- lineage: when this version, and the latest version of its chain, were loaded
        loaded_at,
        chain_loaded_at

    from ranked_tips

)

select * from versions
