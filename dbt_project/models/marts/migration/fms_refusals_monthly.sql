{#-
    Refusal statistics: the only place where interviews that stopped at consent count.
    One row per month x flow monitoring point x direction: people approached (final,
    not rejected submissions, edits resolved), how many refused, and the refusal share.
    Refusals are a yes/no split of the people approached, so the refusal count is
    published only when it and the consenting remainder are both at least k.

    The consenting remainder is published elsewhere: crossing_point_monthly gives the
    respondents of the same month x point x direction. So people_approached is published
    only together with refusals; alone, people_approached minus those respondents would
    be the suppressed refusal count.
-#}

with

submissions as (

    select * from {{ ref('int_fms_submissions_resolved') }}

),

approached as (

    select
        cast(date_trunc('month', interview_date) as date) as month,
        fmp_code,
        direction,
        count(*) as people_approached,
        count(*) filter (where is_refusal) as refusals
    from submissions
    where not is_rejected
    group by all

),

suppressed as (

    select
        -- dimensions
        month,
        fmp_code,
        direction,

        -- measures
        cast(
            case
                when {{ suppress_part('refusals', 'people_approached') }} is not null
                    then people_approached
            end as bigint
        ) as people_approached,
        cast({{ suppress_part('refusals', 'people_approached') }} as bigint) as refusals,
        case
            when {{ suppress_part('refusals', 'people_approached') }} is not null
                then round(refusals / people_approached, 4)
        end as refusal_share,
        {{ is_suppressed('people_approached') }} as suppressed

    from approached

)

select * from suppressed
