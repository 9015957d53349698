/**
 * taskvisor 0.7.0 (Rust, tokio 1.24 `current_thread`) medians measured on this
 * machine, from `reference/taskvisor-bench.md` §3 (pass 1), in the units this
 * bench reports. Keyed by `<workload id>/<param>`.
 */
export const taskvisorCurrentThread: Readonly<Record<string, number>> = {
  "lifecycle/instant/instant": 12.4,
  "lifecycle/with_work/100_iters": 12.5,
  "lifecycle/with_work/1000_iters": 12.7,
  "lifecycle/with_work/10000_iters": 12.9,
  "throughput/batch/50": 6153,
  "throughput/batch/200": 4596,
  "throughput/batch/500": 3959,
  "throughput/batch_work/10": 186809,
  "throughput/batch_work/100": 206848,
  "throughput/batch_work/500": 207163,
  "fanout/subs/100t_0s": 217044,
  "fanout/subs/100t_1s": 4102,
  "fanout/subs/100t_4s": 3913,
  "fanout/subs/100t_8s": 2143,
  "dynamic/add/1000 adds": 6.562,
  "dynamic/add_cancel/1000 ops": 8.773,
  "dynamic/list/10_tasks": 0.191,
  "dynamic/list/100_tasks": 1.724,
  "dynamic/list/500_tasks": 9.821,
  "dynamic/churn/10": 137904,
  "dynamic/churn/100": 149717,
  "dynamic/churn/500": 141690,
  "controller/queue/5": 2565,
  "controller/queue/20": 2466,
  "controller/queue/50": 2498,
  "controller/replace/5": 0.25,
  "controller/replace/20": 0.256,
  "controller/replace/50": 0.25,
  "controller/drop_if_running/5": 0.241,
  "controller/drop_if_running/20": 0.251,
  "controller/drop_if_running/50": 0.255,
  "controller/submit_hotpath/100": 0.094,
  "controller/submit_hotpath/500": 0.094,
  "controller/submit_hotpath/1000": 0.093,
  "controller/multi_slot/8": 2625,
  "controller/multi_slot/32": 2634,
  "controller/multi_slot/64": 2608
}

/** Events/s delivered to the counting subscriber in `throughput/batch` (current_thread). */
export const taskvisorBatchEventsPerSecond: Readonly<Record<string, number>> = {
  "50": 37043,
  "200": 27599,
  "500": 23764
}

/**
 * Peak RSS per live worker task in taskvisor's churn at 50 000 workers
 * (283 MB / 50 000 ≈ 5.6 KB, current_thread, §4), the closest figure to "bytes per parked task".
 */
export const taskvisorRssBytesPerParkedTask = 283e6 / 50000
