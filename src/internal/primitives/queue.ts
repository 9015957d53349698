/** A FIFO queue whose entries link themselves: constant-time append, removal of any entry, and first. */

/** An entry of a `Queue`; the queue owns its links. */
export interface Entry<E extends Entry<E>> {
  next: E | undefined
  prev: E | undefined
}

/**
 * The queue behind `Permits` (waiters for a permit) and `Deadlines`: entries
 * leave from the front or from anywhere (an interrupted waiter, a deadline
 * taken back), each in constant time; removing an entry twice is harmless.
 */
export class Queue<E extends Entry<E>> {
  private head: E | undefined = undefined
  private tail: E | undefined = undefined

  get first(): E | undefined {
    return this.head
  }

  /** Append `entry`, which must not be in a queue. */
  push(entry: E): void {
    entry.prev = this.tail
    entry.next = undefined
    if (this.tail === undefined) this.head = entry
    else this.tail.next = entry
    this.tail = entry
  }

  /** Take `entry` out; nothing if it is not in the queue any more. */
  remove(entry: E): void {
    if (entry.prev === undefined && this.head !== entry) return
    if (entry.prev === undefined) this.head = entry.next
    else entry.prev.next = entry.next
    if (entry.next === undefined) this.tail = entry.prev
    else entry.next.prev = entry.prev
    entry.next = undefined
    entry.prev = undefined
  }

  clear(): void {
    this.head = undefined
    this.tail = undefined
  }
}
