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
 * Peak RSS per task of taskvisor's `run` of 100,000 instant tasks (522 MB less
 * the 2.3 MB of an idle process, `current_thread`, §4): 5.07 KiB, the figure
 * the performance targets compare a parked task's RSS with.
 */
export const taskvisorRssBytesPerParkedTask = (522e6 - 2.3e6) / 100_000

/**
 * taskvisor's costs as its fleet grows, measured side by side with this
 * bench on this machine (recorded with the performance issue, not in
 * `reference/taskvisor-bench.md`): `add`+`cancel` with no other task and with
 * 100,000 live ones (µs per op), and `list` of 100,000 tasks (ns per entry).
 */
export const taskvisorScale: Readonly<Record<string, number>> = {
  "scale/add_cancel/0_live": 17,
  "scale/add_cancel/100k_live": 19.5,
  "scale/list/100k_live": 80
}
