// Helpers shared by the rules and alerts.
{
  // A number as PromQL and people write it: 0.8, not 0.80000000000000004.
  num(x):: if x == std.floor(x) then '%d' % x else '%g' % x,

  // A recorded threshold per series: the override where one is set for the series' labels,
  // else the default. `base` is a series that exists (finite) for every label combination
  // of `by`; overrides name every label of `by` plus `value`.
  thresholdExpr(by, base, default, overrides)::
    local byList = std.join(', ', by);
    local override(o) = std.foldl(
      function(expr, label) 'label_replace(%s, "%s", "%s", "", "")' % [expr, label, o[label]],
      by,
      'vector(%s)' % $.num(o.value)
    );
    local defaults = '0 * count by (%s) (%s) + %s' % [byList, base, $.num(default)];
    if overrides == [] then defaults
    else std.join('\nor ', [override(o) for o in overrides])
         + '\nor on (%s) %s' % [byList, defaults],

  // Element-wise minimum of two vectors with the same labels; either alone where the other
  // has no series.
  minExpr(a, b):: '(\n(%s)\n<=\n(%s)\n)\nor\n(%s)\nor\n(%s)' % [a, b, b, a],

  runbookURL(config, alertname):: config.runbookURLPattern % std.asciiLower(alertname),
}
