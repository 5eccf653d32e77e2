{#-
    One row per story (public and internal) with its places as the gazetteer resolved
    them. Internal: only story_catalogue and story_coverage publish, public stories only.
    The person's details and the story body stay in staging: no mart needs them.
-#}

with

stories as (

    select * from {{ ref('stg_stories__stories') }}

),

facts as (

    select
        -- ids
        story_id,
        collected_fmp_code,

        -- publication
        title,
        language,
        url,
        consent,
        is_public,
        published_on,

        -- places, resolved by ingest
        residence_place,
        residence_adm1_code,
        residence_adm2_code,
        residence_match_quality,
        residence_match_note,
        origin_place,
        origin_adm1_code,
        origin_adm2_code,
        origin_match_quality,
        origin_match_note,

        -- migration
        destination_country_iso3,
        destination_area,
        sector_before,
        sector,
        channel as recruitment_channel,
        themes,

        -- collection
        collected_programme,
        collected_activity,

        -- lineage
        source_file,
        loaded_run_id

    from stories

)

select * from facts
