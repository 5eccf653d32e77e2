with

interviews as (

    -- consenting, not rejected, final versions (edits resolved upstream)
    select * from {{ ref('fct_fms_interviews') }}

),

cells as (

    select
        interview_month as month,
        direction,
        origin_adm1_code,
        dest_country_iso3,
        count(*) as respondents,
        count(*) filter (where sex = 'female') as female_respondents
    from interviews
    group by all

),

suppressed as (

    select
        -- dimensions
        month,
        direction,
        origin_adm1_code,
        dest_country_iso3,

        -- measures, each published only when it and its complement are at least k
        cast({{ suppress_count('respondents') }} as bigint) as respondents,
        cast({{ suppress_part('female_respondents', 'respondents') }} as bigint)
            as female_respondents,
        {{ is_suppressed('respondents') }} as suppressed

    from cells

)

select * from suppressed
