{#-
    Small-cell suppression: the threshold. Which cells are published is decided once for
    every mart by the protection pass (models/intermediate/disclosure/, macros/disclosure.sql).

    The rule: a published count of survey respondents must be at least k, and so must
    every count a reader can derive from published numbers, in one table or across tables.
    Zero is a count below k too: publishing "0 of 7 are women" tells the reader the
    sex of all 7, and "7 of 7" does the same by subtraction. k comes from var('k')
    (dbt_project.yml, default 5).

    suppression_k()                 the threshold, validated (an integer >= 1)
    is_suppressed(n)                true when n is below k (NULL counts as 0)
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
