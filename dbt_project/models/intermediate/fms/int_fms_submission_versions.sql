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
-#}

with recursive

submissions as (

    select * from {{ ref('stg_fms__submissions') }}

),

links as (

    select
        submission_uuid,
        deprecated_instance_id,
        submitted_at,
        kobo_id,
        exists (
            select 1
            from submissions as replaced
            where 'uuid:' || replaced.submission_uuid = submissions.deprecated_instance_id
        ) as replaces_present_version,
        exists (
            select 1
            from submissions as edit
            where edit.deprecated_instance_id = 'uuid:' || submissions.submission_uuid
        ) as is_superseded
    from submissions

),

chains as (

    -- first present version of each chain: an original, or an edit of an absent version
    select
        submission_uuid,
        coalesce(
            regexp_replace(deprecated_instance_id, '^uuid:', ''),
            submission_uuid
        ) as chain_root_uuid,
        deprecated_instance_id is not null as replaces_absent_version,
        1 as version_number
    from links
    where not replaces_present_version

    union all

    select
        edit.submission_uuid,
        chains.chain_root_uuid,
        chains.replaces_absent_version,
        chains.version_number + 1 as version_number
    from chains
    inner join links as edit
        on edit.deprecated_instance_id = 'uuid:' || chains.submission_uuid

),

ranked_tips as (

    select
        chains.*,
        links.is_superseded,
        row_number() over (
            partition by chains.chain_root_uuid, links.is_superseded
            order by links.submitted_at desc, links.kobo_id desc, chains.submission_uuid
        ) as tip_rank
    from chains
    inner join links on chains.submission_uuid = links.submission_uuid

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
        not is_superseded and tip_rank = 1 as is_final_version

    from ranked_tips

)

select * from versions
