{#
  DuckLake (the `lake` target, --lake) refuses PRIMARY KEY, UNIQUE and FOREIGN KEY
  constraints. On the lake, the contracted models are created with their column types and
  NOT NULL / CHECK constraints only; the key constraints stay enforced on the DuckDB file
  (the embedded mode) and the models' data tests check the same keys in both.
#}
{% macro duckdb__get_table_columns_and_constraints() -%}
  {%- if target.name != 'lake' -%}
    {{ return(table_columns_and_constraints()) }}
  {%- endif -%}
  {%- set keys = ['primary_key', 'unique', 'foreign_key'] -%}
  {%- set columns = {} -%}
  {%- for name, column in model['columns'].items() -%}
    {%- set kept = [] -%}
    {%- for constraint in column.get('constraints', []) -%}
      {%- if constraint['type'] not in keys -%}{%- do kept.append(constraint) -%}{%- endif -%}
    {%- endfor -%}
    {%- set copy = column.copy() -%}
    {%- do copy.update({'constraints': kept}) -%}
    {%- do columns.update({name: copy}) -%}
  {%- endfor -%}
  {%- set model_constraints = [] -%}
  {%- for constraint in model.get('constraints', []) -%}
    {%- if constraint['type'] not in keys -%}{%- do model_constraints.append(constraint) -%}{%- endif -%}
  {%- endfor -%}
  {%- set raw_column_constraints = adapter.render_raw_columns_constraints(raw_columns=columns) -%}
  {%- set raw_model_constraints = adapter.render_raw_model_constraints(raw_constraints=model_constraints) -%}
  (
  {% for c in raw_column_constraints -%}
    {{ c }}{{ "," if not loop.last or raw_model_constraints }}
  {% endfor %}
  {% for c in raw_model_constraints -%}
    {{ c }}{{ "," if not loop.last }}
  {% endfor -%}
  )
{%- endmacro %}
