import { describe, expect, it } from 'vitest';
import { TurnLog } from './turnLog.ts';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

// Lines pending at process.exit: test/daemon.test.ts (a refused start logs daemon.start_failed).
describe('TurnLog', () => {
  it('writes the lines of one callback in one write, in order', async () => {
    const writes: string[] = [];
    const log = new TurnLog({ write: (text) => writes.push(text) });
    log.write('a\n');
    log.write('b\n');
    log.write('c\n');
    expect(writes).toEqual([]);
    await nextTurn();
    expect(writes).toEqual(['a\nb\nc\n']);
    log.write('d\n');
    await nextTurn();
    expect(writes).toEqual(['a\nb\nc\n', 'd\n']);
  });

  it('writes a callback\'s lines before the next callback runs, however early that one was queued', async () => {
    const order: string[] = [];
    const log = new TurnLog({ write: (text) => order.push(`write ${text.trim()}`) });
    setImmediate(() => order.push('next callback'));
    log.write('a\n');
    log.write('b\n');
    await nextTurn();
    // The Status that shows a change handled after the line reporting it, not before.
    expect(order).toEqual(['write a\nb', 'next callback']);
  });

  it('drops the lines when the sink throws, and goes on', async () => {
    let broken = true;
    const writes: string[] = [];
    const log = new TurnLog({ write: (text) => { if (broken) throw Object.assign(new Error('EPIPE'), { code: 'EPIPE' }); writes.push(text); } });
    log.write('lost\n');
    await nextTurn();
    broken = false;
    log.write('kept\n');
    await nextTurn();
    expect(writes).toEqual(['kept\n']);
  });
});
