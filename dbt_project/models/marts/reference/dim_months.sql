with

months as (

    select * from {{ ref('int_calendar_months') }}

)

select * from months
