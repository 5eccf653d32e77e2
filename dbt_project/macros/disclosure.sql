{#-
    The one protection pass (models/intermediate/disclosure/): every respondent count the
    marts publish is a cell of one linked set, identified by disclosure_cell_id; the marts
    read their verdicts from int_disclosure_pattern by the same id.

    disclosure_cell_id(kind, parts)   'kind|part|part...' (NULL parts as '~')
    disclosure_hidden(verdict)        true unless the verdict row says published (a cell
                                      missing from the pattern is withheld, never shown)
-#}

{% macro disclosure_cell_id(kind, parts) -%}
    concat_ws('|', '{{ kind }}'
    {%- for part in parts -%}
        , coalesce(cast({{ part }} as varchar), '~')
    {%- endfor -%}
    )
{%- endmacro %}

{% macro disclosure_hidden(verdict) -%}
    (coalesce({{ verdict }}.verdict, 'missing') <> 'published')
{%- endmacro %}
