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
