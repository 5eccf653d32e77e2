{#-
    The public stories, one row each, with the province they speak for. Stories with
    consent internal never appear. Deliberately left out, on privacy grounds: the
    pseudonym, the person's age, sex, ethnicity and children, the free-text places and
    the resolved district, and the story body. A pseudonym is often a real first name,
    and with a district, age and sector it could single a person out in a small
    community; the catalogue is for finding and counting stories, and the story itself
    is one click away at its url.
-#}

with

stories as (

    select * from {{ ref('fct_stories') }}

),

catalogue as (

    select
        -- ids
        story_id,

        -- publication
        title,
        language,
        url,
        published_on,

        -- places: province level only
        residence_adm1_code,
        residence_match_quality,
        origin_adm1_code,

        -- migration
        destination_country_iso3,
        sector_before,
        sector,
        recruitment_channel,
        themes,

        -- collection
        collected_fmp_code

    from stories
    where is_public

)

select * from catalogue
