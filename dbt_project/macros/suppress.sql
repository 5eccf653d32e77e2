{#-
    Small-cell suppression, the one place it is written.

    The rule: a published count of survey respondents must be at least k, and so must
    every count a reader can derive from published numbers by subtraction within the same
    table. Zero is a count below k too: publishing "0 of 7 are women" tells the reader the
    sex of all 7, and "7 of 7" does the same by subtraction. k comes from var('k')
    (dbt_project.yml, default 5).

    suppression_k()                 the threshold, validated (an integer >= 1)
    is_suppressed(n)                true when n is below k (NULL counts as 0)
    suppress_count(n)               n, or NULL when n is below k
    suppress_part(part, total)      part, or NULL when part or total - part is below k
                                    (a part of a suppressed total is therefore always NULL,
                                    since part >= k and total - part >= k imply total >= 2k)
    suppress_partitions(...)        complementary suppression of the category rows of a
                                    long-format table (below)
-#}

{% macro suppression_k() -%}
    {%- set k = var('k') -%}
    {%- set k_int = k | int(-1) -%}
    {%- if k_int < 1 or (k_int | string) != (k | string | trim) -%}
        {{ exceptions.raise_compiler_error("var('k') must be a whole number >= 1, got: " ~ k) }}
    {%- endif -%}
    {{ k_int }}
{%- endmacro %}

{% macro is_suppressed(n) -%}
    (coalesce({{ n }}, 0) < {{ suppression_k() }})
{%- endmacro %}

{% macro suppress_count(n) -%}
    case when {{ is_suppressed(n) }} then null else {{ n }} end
{%- endmacro %}

{% macro suppress_part(part, total) -%}
    case
        when {{ is_suppressed(part) }} then null
        when {{ is_suppressed('(' ~ total ~ ') - (' ~ part ~ ')') }} then null
        else {{ part }}
    end
{%- endmacro %}

{#-
    Complementary suppression for long-format tables.

    suppress_partitions(relation, partition_by, order_by, count)

    `relation` holds category rows; the rows sharing the `partition_by` columns are one
    partition: their `count`s add up to a total the table publishes (the base). Hiding
    the small categories alone is not enough: base minus the published categories gives
    their sum, and with one hidden category, that category. So, within each partition that
    has at least one primary cell (count below k, zero included), further categories are
    hidden, smallest first (ties by `order_by`), until at least two are hidden and the
    hidden ones add up to at least k. Then nothing a reader can subtract is below k. A
    partition whose base is below k has every category below k, so all are hidden (and
    the base must be suppressed with suppress_count). Partitions without a primary cell
    publish everything.

    Returns a SELECT of every column of `relation` plus:
      is_primary   count below k
      is_hidden    count to publish as NULL (primary or complementary)
-#}

{% macro suppress_partitions(relation, partition_by, order_by, count='respondents') -%}
    {%- set partition = partition_by | join(', ') -%}
    {%- set ranking -%}
        partition by {{ partition }}
        order by {{ is_suppressed(count) }} desc, coalesce({{ count }}, 0), {{ order_by }}
    {%- endset -%}
    select
        * exclude (_suppress_rank, _suppress_running, _suppress_primaries, _suppress_needed),
        is_primary or (_suppress_primaries > 0 and _suppress_rank <= _suppress_needed)
            as is_hidden
    from (
        select
            *,
            -- the shortest prefix (primary cells first) that is >= 2 cells and sums to >= k
            min(
                case
                    when _suppress_rank >= greatest(_suppress_primaries, 2)
                        and _suppress_running >= {{ suppression_k() }}
                        then _suppress_rank
                end
            ) over (partition by {{ partition }}) as _suppress_needed
        from (
            select
                *,
                {{ is_suppressed(count) }} as is_primary,
                count(*) filter (where {{ is_suppressed(count) }})
                    over (partition by {{ partition }}) as _suppress_primaries,
                row_number() over ({{ ranking }}) as _suppress_rank,
                sum(coalesce({{ count }}, 0)) over (
                    {{ ranking }}
                    rows between unbounded preceding and current row
                ) as _suppress_running
            from {{ relation }}
        )
    )
{%- endmacro %}
