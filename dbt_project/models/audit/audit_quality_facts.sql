-- The totals the quality gates compare the published marts with: what the internal layers
-- hold, counted once. The gates read this model (audit.audit_quality_facts), never the
-- intermediate models it is built from.
with

resolved_submissions as (
    select * from {{ ref('int_fms_submissions_resolved') }}
),

tallies as (
    select * from {{ source('fmr', 'fmr_tallies') }}
),

stories as (
    select * from {{ source('stories', 'stories') }}
),

fms as (
    select count(*) as fms_respondents
    from resolved_submissions
    where not is_refusal and not is_rejected
),

registry as (
    select coalesce(sum(try_cast("count" as bigint)), 0)::bigint as registry_individuals
    from tallies
),

public_stories as (
    select count(*) as public_stories
    from stories
    where consent = 'public'
),

final as (
    select
        fms.fms_respondents,
        public_stories.public_stories,
        registry.registry_individuals
    from fms
    cross join public_stories
    cross join registry
)

select * from final
