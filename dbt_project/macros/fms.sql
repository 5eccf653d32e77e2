{#-
    Survey helpers shared by the interview fact and the marts.

    age_bands()            the published age bands: [label, lowest age, highest age or none]
    age_band(age)          the band label of an age (NULL for NULL)
    resolved_submissions(versions, submissions)
                           final versions with their answers and flags (below)
-#}

{% macro age_bands() -%}
    {{ return([
        ['14-17', 14, 17],
        ['18-24', 18, 24],
        ['25-34', 25, 34],
        ['35-44', 35, 44],
        ['45-59', 45, 59],
        ['60+', 60, none],
    ]) }}
{%- endmacro %}

{% macro age_band(age) -%}
    case
    {%- for label, lowest, highest in age_bands() %}
        when {{ age }} >= {{ lowest }}
            {%- if highest is not none %} and {{ age }} <= {{ highest }}{% endif %}
            then '{{ label }}'
    {%- endfor %}
    end
{%- endmacro %}

{#-
    Incremental maintenance of fct_fms_interviews (see that model).

    fms_touched_chains(fact)   SELECT of the chain roots that changed since the fact last
                               saw them: any version on the chain loaded after the fact's
                               watermark, its latest chain_loaded_at. Every row loaded at
                               or before it was loaded before the previous run, which saw
                               it; this needs loaded_at to grow from run to run (ingest
                               stamps the load time; a clock set back would hide rows
                               until the next --full-refresh). No look-back margin: one
                               would re-derive the whole previous load, which after the
                               first refresh is every submission. Plus the chains that a
                               newly loaded version left, which the fact still holds its
                               row under.

    Incremental strategy `fms_chains` (get_incremental_fms_chains_sql): the model's batch
    holds the counted final versions of the touched chains, computed against the fact as
    it stood before this run. The strategy then, in the run's one transaction:
      1. deletes every fact row whose final version sits on a touched chain, computed
         against that same state: this removes rows whose chain now ends in a rejection,
         a refusal or a newer edit, and rows filed under an old chain root when a missing
         middle version arrived and joined two chains;
      2. deletes any row still holding a batch key (plain delete+insert on unique_key);
      3. inserts the batch.
    Step 1 must run after the batch is built and before anything changes the fact, so
    that both see one watermark; a pre-hook would shift it.
-#}

{% macro fms_touched_chains(fact) -%}
    {%- set versions = ref('int_fms_submission_versions') -%}
    with newly_loaded as (
        select distinct chain_root_uuid
        from {{ versions }}
        where loaded_at is null
            or loaded_at > (
                select coalesce(max(chain_loaded_at), '-infinity'::timestamp)
                from {{ fact }}
            )
    ),

    left_behind as (
        -- roots of chains a version left (a new version of it dropped or changed its
        -- deprecatedID): the fact files it under that root, whose final version may now
        -- be another one, on a chain with nothing newly loaded
        select held.chain_root_uuid
        from {{ fact }} as held
        inner join {{ versions }} as moved
            on held.submission_uuid = moved.submission_uuid
        where moved.chain_root_uuid in (select chain_root_uuid from newly_loaded)
            and moved.chain_root_uuid <> held.chain_root_uuid
    )

    select chain_root_uuid from newly_loaded
    union
    select chain_root_uuid
    from {{ versions }}
    where submission_uuid in (select chain_root_uuid from left_behind)
        or chain_root_uuid in (select chain_root_uuid from left_behind)
{%- endmacro %}

{% macro get_incremental_fms_chains_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    delete from {{ target }}
    where submission_uuid in (
        select submission_uuid
        from {{ ref('int_fms_submission_versions') }}
        where chain_root_uuid in ({{ fms_touched_chains(target) }})
    );

    {{ get_delete_insert_merge_sql(
        target,
        arg_dict['temp_relation'],
        arg_dict['unique_key'],
        arg_dict['dest_columns'],
        arg_dict['incremental_predicates'],
    ) }}
{%- endmacro %}

{#-
    resolved_submissions(versions, submissions)
        Edit resolution's last step: each final version among `versions` (rows of
        int_fms_submission_versions), with every column of its submission in `submissions`
        (stg_fms__submissions), the chain it resolved, and the two flags every mart filters
        on. int_fms_submissions_resolved is this over every version; fct_fms_interviews runs
        it on the versions of the chains it re-derives.
-#}

{% macro resolved_submissions(versions, submissions) -%}
    with

    final_versions as (

        select
            submissions.*,
            versions.chain_root_uuid,
            versions.version_number,
            versions.chain_loaded_at
        from {{ versions }} as versions
        inner join {{ submissions }} as submissions
            on versions.submission_uuid = submissions.submission_uuid
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
{%- endmacro %}
