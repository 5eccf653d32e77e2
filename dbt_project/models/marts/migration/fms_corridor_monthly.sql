with

submissions as (

    select * from {{ ref('int_fms_submissions_resolved') }}

),

respondents as (

    -- consenting, not rejected, final versions (edits resolved upstream)
    select
        cast(date_trunc('month', interview_date) as date) as month,
        direction,
        origin_adm1_code,
        -- the form's 'other' country has no ISO 3166-1 code; publish XXX, the code ICAO
        -- Doc 9303 reserves for an unspecified nationality, so the column stays 3 letters
        case
            when dest_country_code = 'other' then 'XXX'
            else dest_country_code
        end as dest_country_iso3,
        sex
    from submissions
    where not is_refusal
        and not is_rejected

),

cells as (

    select
        month,
        direction,
        origin_adm1_code,
        dest_country_iso3,
        count(*) as respondents,
        count(*) filter (where sex = 'female') as female_respondents
    from respondents
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
