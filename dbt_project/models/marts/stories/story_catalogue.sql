{#-
    The public stories, one row each, with the province they speak for. Stories with
    consent internal never appear. Left out on privacy grounds: the person's details as
    structured fields (pseudonym, age, sex, ethnicity, children), the free-text places,
    the resolved district and the story body. As columns they could be filtered and
    cross-tabulated against the survey marts to single a person out (say, the one
    48-year-old Phunoi woman from a district with few respondents); the catalogue is for
    finding and counting stories, and each story, as its subject agreed to publish it, is
    at its url. The title is published as it was published, and may contain the name the
    story uses.
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
