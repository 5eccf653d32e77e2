with

source as (

    select * from {{ source('stories', 'stories') }}

),

renamed as (

    select
        -- ids
        id as story_id,
        pseudonym,

        -- publication
        title,
        language,
        url,
        consent,
        consent = 'public' as is_public,

        -- person, as told (free values: a non-numeric age stays NULL here)
        try_cast(person_age as integer) as person_age,
        person_sex,
        person_ethnicity,
        try_cast(person_children as integer) as person_children,

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
        destination_country as destination_country_iso3,
        destination_area,
        sector_before,
        sector,
        channel,
        themes,

        -- collection
        collected_programme,
        collected_activity,
        collected_fmp as collected_fmp_code,

        -- text
        body,

        -- dates
        cast(published as date) as published_on,

        -- lineage
        source_file,
        loaded_run_id

    from source

)

select * from renamed
