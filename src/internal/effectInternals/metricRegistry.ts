/** The hook of an Effect metric in the global registry, updated synchronously rather than through an effect. */
import * as Metric from "effect/Metric"
import type * as MetricHook from "effect/MetricHook"
import * as MetricKey from "effect/MetricKey"
import type * as MetricKeyType from "effect/MetricKeyType"
import type * as MetricLabel from "effect/MetricLabel"

/**
 * The hook that `key` labelled with `labels` (in this order) updates and
 * reads: updating it is updating the metric, without an effect, so a task's
 * counters are found once per task name and then written to directly.
 *
 * Effect 3 keeps every metric's state in `Metric.globalMetricRegistry`, one
 * hook per key (its labels included, in order): a metric made by
 * `Metric.fromMetricKey` and labelled by `Metric.tagged`/`taggedWithLabels`
 * updates and reads `globalMetricRegistry.get(MetricKey.taggedWithLabels(key,
 * labels))` (the key itself without labels), and `get` answers the same hook
 * for an equal key every time. test/EffectInternals.test.ts pins it.
 */
export const hookOf = <Type extends MetricKeyType.MetricKeyType<any, any>>(
  key: MetricKey.MetricKey<Type>,
  labels: ReadonlyArray<MetricLabel.MetricLabel>
): MetricHook.MetricHook<MetricKeyType.MetricKeyType.InType<Type>, MetricKeyType.MetricKeyType.OutType<Type>> =>
  Metric.globalMetricRegistry.get(labels.length === 0 ? key : MetricKey.taggedWithLabels(key, labels))
