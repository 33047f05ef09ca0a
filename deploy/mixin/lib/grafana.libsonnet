// The few Grafana building blocks the dashboards use. Every panel and query uses the
// `datasource` variable; every dashboard has `job` and `target` variables.
{
  ds:: { type: 'prometheus', uid: '${datasource}' },

  target(ref, expr, legend='__auto', instant=false, format='time_series'):: {
    expr: expr,
    legendFormat: legend,
    range: !instant,
    instant: instant,
    format: format,
    refId: ref,
    datasource: $.ds,
  },

  // A panel; `extra` carries fieldConfig, options and transformations.
  panel(id, type, title, description, gridPos, targets=[], extra={}):: {
    id: id,
    type: type,
    title: title,
    description: description,
    datasource: $.ds,
    gridPos: gridPos,
    targets: targets,
  } + extra,

  row(id, title, y):: {
    id: id,
    type: 'row',
    title: title,
    collapsed: false,
    gridPos: { x: 0, y: y, w: 24, h: 1 },
    panels: [],
  },

  // Odin sends -1 for unlimited, exported as +Inf; Grafana looks it up as "Infinity".
  unlimitedMappings:: [
    {
      type: 'value',
      options: {
        Infinity: { text: 'Unlimited', color: 'blue', index: 0 },
        '+Inf': { text: 'Unlimited', color: 'blue', index: 1 },
      },
    },
    { type: 'special', options: { match: 'nan', result: { text: 'n/a', index: 2 } } },
  ],

  datasourceVariable:: {
    name: 'datasource',
    label: 'Data source',
    type: 'datasource',
    query: 'prometheus',
    current: {},
    hide: 0,
    includeAll: false,
    multi: false,
    options: [],
    refresh: 1,
    regex: '',
    skipUrlSync: false,
  },

  // A multi-value filter from label_values(); "All" is `.*`, which also matches empty values.
  queryVariable(name, label, query):: {
    name: name,
    label: label,
    type: 'query',
    datasource: $.ds,
    definition: query,
    query: { query: query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    current: { selected: true, text: ['All'], value: ['$__all'] },
    hide: 0,
    includeAll: true,
    allValue: '.*',
    multi: true,
    options: [],
    refresh: 2,
    regex: '',
    skipUrlSync: false,
    sort: 1,
  },

  // The `job` variable: the jobs of _config.jobSelector that serve this dashboard's metric.
  // A link to a dashboard of the mixin: `vars` maps its variables to values (Grafana's
  // ${__value.raw}, ${__data.fields["Column"]}...); data source, job and time range carry over.
  dashboardLink(title, uid, vars):: {
    title: title,
    url: '/d/%s?%s' % [uid, std.join('&', ['${datasource:queryparam}', '${job:queryparam}'] + [
      'var-%s=%s' % [name, vars[name]]
      for name in std.objectFields(vars)
    ] + ['${__url_time_range}'])],
  },

  jobVariable(c, metric):: $.queryVariable(
    'job', 'Job', 'label_values(%s{%s}, job)' % [metric, c.jobSelector]
  ),

  dashboard(c, uid, title, description, variables, panels, time=c.dashboardTime):: {
    uid: uid,
    title: title,
    description: description,
    tags: c.dashboardTags,
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    time: { from: time, to: 'now' },
    refresh: c.dashboardRefresh,
    timezone: '',
    fiscalYearStartMonth: 0,
    liveNow: false,
    weekStart: '',
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
        // The mixin's alerts while they fire, from Prometheus' ALERTS series.
        {
          name: 'Firing alerts',
          datasource: $.ds,
          enable: true,
          hide: false,
          iconColor: 'red',
          expr: 'ALERTS{alertname=~"TrunkCapacity.*", alertstate="firing"}',
          step: '1m',
          titleFormat: '{{alertname}} ({{severity}})',
          textFormat: '{{target}} {{service_provider}} {{group}} {{trunk_group}} {{pool}}',
          useValueForTime: false,
        },
      ],
    },
    links: [{
      title: 'Trunk capacity dashboards',
      type: 'dashboards',
      tags: c.dashboardTags,
      asDropdown: true,
      includeVars: true,
      keepTime: true,
      icon: 'external link',
      targetBlank: false,
      tooltip: '',
      url: '',
    }],
    panels: panels,
    templating: { list: [$.datasourceVariable] + variables },
  },
}
