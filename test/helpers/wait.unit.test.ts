/** The shared waits: a wait that never completes fails with its name within its deadline. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundedOnRead, sleep, waitFor, within } from './wait.js';

describe('test/helpers/wait', () => {
  it('waitFor rejects, naming what it waited for and the last error, within its deadline', async () => {
    const start = performance.now();
    await assert.rejects(
      waitFor('the never-ready thing', () => Promise.reject(new Error('still not ready')), {
        timeoutMs: 300,
        intervalMs: 50,
      }),
      {
        message: 'timed out after 300 ms waiting for the never-ready thing: still not ready',
      },
    );
    const took = performance.now() - start;
    assert.ok(took >= 290 && took < 2000, `took ${took} ms`);
  });

  it('waitFor resolves with the first value check returns', async () => {
    let calls = 0;
    const v = await waitFor('the third call', async () => (++calls === 3 ? 'ok' : undefined), {
      timeoutMs: 5000,
      intervalMs: 10,
    });
    assert.equal(v, 'ok');
    assert.equal(calls, 3);
  });

  it('within rejects a promise that never settles, naming it, within its deadline', async () => {
    const start = performance.now();
    await assert.rejects(within(new Promise(() => {}), 200, 'the close event'), {
      message: 'timed out after 200 ms waiting for the close event',
    });
    const took = performance.now() - start;
    assert.ok(took >= 190 && took < 2000, `took ${took} ms`);
  });

  it('within passes on what settles in time', async () => {
    assert.equal(
      await within(
        sleep(10).then(() => 7),
        5000,
        'seven',
      ),
      7,
    );
    await assert.rejects(within(Promise.reject(new Error('own')), 5000, 'x'), { message: 'own' });
  });

  it('boundedOnRead bounds each read from its own moment, and an unread bound never rejects', async () => {
    const never = new Promise<void>(() => {});
    const read = boundedOnRead(never, 100, 'the process to exit');
    await sleep(150); // longer than the bound: nothing started counting before the read
    const start = performance.now();
    await assert.rejects(read(), {
      message: 'timed out after 100 ms waiting for the process to exit',
    });
    assert.ok(performance.now() - start >= 90);
    let done!: () => void;
    const exits = new Promise<void>((r) => (done = r));
    const lost = boundedOnRead(exits, 50, 'x')(); // read, never awaited: must not be an unhandled rejection
    void lost;
    await sleep(100);
    done();
    await boundedOnRead(exits, 50, 'x')();
  });
});
