// Everything a user may want to change without forking: selectors, thresholds, durations,
// runbook links and per-target / service provider / pool / account threshold overrides.
// Override in your own jsonnet:
//   (import 'trunk-capacity-mixin/mixin.libsonnet') + { _config+:: { balanceLowThreshold: 200 } }
{
  _config+:: {
    // The jobs that scrape the exporter (/metrics and /probe): every rule and dashboard
    // selects on jobSelector, which takes every job name the docs print: trunk-capacity-exporter
    // (README), trunk-capacity-probe, and either with a suffix (one job per target).
    // TrunkCapacityExporterJobAbsent fires when no job it selects has a target: a job named
    // outside it (or gone) is loud, whichever of the printed configs you copied. List jobs in
    // exporterJobs to be told when any one of them is gone (one job per target, say).
    jobSelector: 'job=~"trunk-capacity-(exporter|probe)(-.+)?"',
    exporterJobs: [],

    // Runbook link of an alert: %s is the alert name in lower case (a Markdown anchor).
    runbookURLPattern:
      'https://github.com/trunk-capacity-exporter/trunk-capacity-exporter/blob/main/docs/runbooks.md#%s',

    // ---- severities: who is woken (docs/alerting.md, "Paging policy") ------------------------
    // critical pages, warning is a ticket, info is a standing fact for the dashboards. A level's
    // two degrees must differ: Alertmanager lets the higher silence the lower (same alert name).
    severities: {
      // Nothing is scraped (exporter down, job gone): a ticket first, a page once blind for long.
      blind: 'warning',
      blindLong: 'critical',
      // A target the exporter cannot collect (a vendor API outage, its credentials) or that
      // vanished from it: on-call cannot fix a vendor's API at night.
      targetDown: 'warning',
      targetAbsent: 'warning',
      // Saturation per level, at the effective limit and at the warning fraction of it. Trunk
      // groups and groups are held to the caps their customer bought: reaching one is the
      // product as sold, a ticket for the account team. A service provider's cap and the DIDWW
      // capacity feeding BroadWorks are the operator's: reaching them refuses calls its
      // customers paid for.
      serviceProvider: { atLimit: 'critical', nearLimit: 'warning' },
      group: { atLimit: 'warning', nearLimit: 'info' },
      trunkGroup: { atLimit: 'warning', nearLimit: 'info' },
      trunkGroupDirection: { atLimit: 'warning', nearLimit: 'info' },
      carrier: { atLimit: 'critical', nearLimit: 'warning' },
      // The balance runs out within balanceForecastCriticalDays / balanceForecastWarningDays:
      // every call through DIDWW stops then.
      balanceExhaustion: { imminent: 'critical', soon: 'warning' },
    },

    // ---- never silent ---------------------------------------------------------------------
    // kube-prometheus's TargetDown is a warning after 10m: so are these; blindPageFor is when
    // the exporter down or its job gone becomes a page (severities.blindLong).
    exporterDownFor: '10m',  // up == 0 for the exporter jobs
    jobAbsentFor: '10m',  // no `up` series at all for a job
    blindPageFor: '1h',
    targetDownFor: '10m',  // odin_up / didww_up == 0
    // A target whose *_up series was seen within this lookback but is gone now, from every
    // instance, has disappeared (config change, dropped probe target, exporter shard gone).
    // Labels naming where the exporter runs, not what it watches, are aggregated away: after a
    // pod restart (new instance and pod) the target is still there. The lookback is how long a
    // vanished target is remembered, long enough to outlast a night without the exporter.
    targetAbsentLookback: '1d',
    targetInstanceLabels: ['instance', 'pod', 'container', 'endpoint', 'service', 'namespace'],
    targetAbsentFor: '10m',
    staleDataSeconds: 900,  // time() - last_success_timestamp_seconds
    staleDataFor: '5m',
    // A kind of data whose oldest item is older than this many times its refresh interval
    // (and than the floor, for kinds read on every scrape) is falling behind the call budget.
    dataKindStaleFactor: 3,
    dataKindStaleFloorSeconds: 300,
    dataKindStaleFor: '15m',
    // Capacity alerts keep firing through a short outage of their data, so that a target or
    // exporter going down never "resolves" a page; the down/absent alerts take over.
    keepFiringFor: '15m',

    // ---- saturation: live calls against the effective limit ---------------------------------
    // The effective limit is burstingMaxActiveCalls on top of maxActiveCalls when bursting is
    // on (docs/alerting.md). A limit reached at any point of this window is "calls refused".
    saturationWindow: '10m',
    saturationFor: '1m',
    saturationWarningRatio: 0.8,
    // Per service provider: [{ target: 'odin-prod', service_provider: 'ent.acme', value: 0.9 }]
    saturationWarningOverrides: [],

    // ---- standing provisioning facts (severity info) -------------------------------------------
    provisioningFor: '15m',

    // ---- DIDWW ---------------------------------------------------------------------------------
    poolNearExhaustionRatio: 0.9,
    // Per pool: [{ target: 'didww', pool: 'Standard', value: 0.95 }]
    poolNearExhaustionOverrides: [],
    poolFor: '15m',
    renewalWarningDays: 7,
    balanceLowThreshold: 50,  // in the account's currency
    // Per account: [{ target: 'didww-eu', value: 500 }]
    balanceLowOverrides: [],
    balanceFor: '15m',

    // ---- forecasts -----------------------------------------------------------------------------
    // A forecast needs a trend and a reason: the slope is fitted over a day or more (one-off
    // steps, a renewal charge or a single assignment, weigh little), and it only counts while
    // an absolute condition holds: the balance below its threshold, a pool's unassigned
    // channels below poolForecastGuardRatio of its channels.
    forecastWindow: '1d',  // the past the slope is fitted over (deriv / predict_linear)
    poolForecastDays: 14,  // warn when a pool's unassigned channels run out within this
    poolForecastGuardRatio: 0.25,
    balanceForecastWarningDays: 7,
    balanceForecastCriticalDays: 1,
    forecastFor: '1h',

    // ---- capacity chain (trunk_capacity_link_info) -------------------------------------------------
    chainWarningRatio: 0.8,  // live incoming calls / the carrier side's limit
    chainFor: '15m',

    // ---- dashboards ------------------------------------------------------------------------------
    dashboardTags: ['trunk-capacity'],
    dashboardRefresh: '1m',
    dashboardTime: 'now-6h',
    currency: 'currencyUSD',  // Grafana unit for balances and prices: currencyEUR, currencyGBP...
    // The scrape_timeout the docs configure (README, docs/deployment.md): the collection-time
    // panel draws it when Prometheus does not expose scrape_timeout_seconds.
    scrapeTimeoutSeconds: 30,
    // The container's memory limit (deploy/kubernetes: 256Mi), drawn against the process's.
    memoryLimitBytes: 256 * 1024 * 1024,
    // "Time at the limit" turns orange at any time refusing calls and red from this share.
    timeAtLimitRedRatio: 0.01,
    // Days of balance left: red below balanceForecastWarningDays, green from this many.
    balanceDaysGreen: 30,
    // The planning dashboard: its default range and how far ahead the trend is drawn.
    planningTime: 'now-30d',
    planningTrendDays: 30,
  },
}
