// berthd's log destination: the lines made while one callback runs go out in one write(2).
//
// At 64 calls in flight every Allocate and Release logs its lease event, and one write(2) per line
// was about 6% of berthd's busy time (bench --cpu-prof). A group commit answers its whole batch in
// one callback, so the batch's lease lines are made in one run of the microtask queue; they are
// joined and written when that run reaches the flush queued behind the first of them, before
// berthd handles anything else. So a line is out before any later request can see the change it
// reports (a Status that shows a lost block comes after the block_lost line), as with one write
// per line. Never on libuv's thread pool: a pooled async write kept every pending line alive
// until it finished, long enough to be promoted into the old generation (whose major GCs then
// landed in the p99). A line is written before berthd exits by process.exit; a SIGKILL loses at
// most the lines of the callback it interrupts. A stalled reader of stdout still stalls berthd.

/** Where the joined lines go: a synchronous writer that writes all of them or throws. */
export interface LineSink {
  write(text: string): unknown;
}

export class TurnLog {
  private pending: string[] = [];
  private scheduled = false;

  constructor(private readonly sink: LineSink) {
    process.on('exit', () => this.flush());
  }

  /** pino calls this with one serialized line (newline included). */
  write(line: string): void {
    this.pending.push(line);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.flush());
  }

  /** Writes everything pending now (also at exit). */
  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    try {
      this.sink.write(text);
    } catch {
      // stdout is gone (EPIPE): the lines have nowhere to go, and throwing here would only log
      // the failure into the same closed stdout, turn after turn.
    }
  }
}
