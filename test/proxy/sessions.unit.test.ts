/** SessionRegistry without I/O: reservations, replace order, admin closes, expiry timers. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SessionRegistry, type SessionRelay } from '../../proxy/src/sessions.js';
import { sleep } from '../helpers/wait.js';

class FakeRelay implements SessionRelay {
  bytesClientToTarget = 3;
  bytesTargetToClient = 5;
  closes: { code: number; reason: string }[] = [];
  close(how: { code: number; reason: string }): void {
    this.closes.push(how);
  }
}

const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);

function registry(maxPerTarget = 0, policy: 'refuse' | 'replace' = 'refuse') {
  const counted: string[] = [];
  const r = new SessionRegistry<FakeRelay>({
    maxPerTarget,
    policy,
    onProxyClose: (why) => counted.push(why),
    now: () => NOW,
  });
  return { r, counted };
}

describe('SessionRegistry', () => {
  test('refuse counts sessions and reservations per target', () => {
    const { r } = registry(2);
    const first = r.reserve('a:1')!;
    const second = r.reserve('a:1')!;
    assert.equal(r.reserve('a:1'), undefined, 'two pending reservations fill the target');
    assert.ok(r.reserve('b:1'), 'another target is independent');
    r.add(new FakeRelay(), { id: 's1', client: 'c', target: 'a:1' });
    first();
    first(); // releasing twice must not free a second slot
    assert.equal(r.reserve('a:1'), undefined, 'one session + one reservation');
    second();
    assert.ok(r.reserve('a:1'), 'a slot freed by the released reservation');
  });

  test('limits count consoles: sessions and reservations with one console key count once', () => {
    const { r, counted } = registry(1, 'refuse');
    const release = r.reserve('t:1', 'tok|c')!;
    assert.ok(r.reserve('t:1', 'tok|c'), 'a second channel of the console being opened');
    assert.equal(r.reserve('t:1', 'other|c'), undefined, 'another console');
    r.add(new FakeRelay(), { id: 'a', client: 'c', target: 't:1', console: 'tok|c' });
    release();
    assert.ok(r.reserve('t:1', 'tok|c'), 'a further channel of the open console');
    assert.equal(r.reserve('t:1', 'tok|d'), undefined, 'the same token from another client');
    assert.deepEqual(counted, []);
  });

  test('replace closes every session of the oldest console, none of the new one', () => {
    const { r, counted } = registry(1, 'replace');
    const [a1, a2, b1, b2] = [new FakeRelay(), new FakeRelay(), new FakeRelay(), new FakeRelay()];
    r.add(a1, { id: 'a1', client: 'c', target: 't:1', console: 'A' });
    r.add(a2, { id: 'a2', client: 'c', target: 't:1', console: 'A' });
    assert.deepEqual([a1.closes.length, a2.closes.length], [0, 0]);
    r.add(b1, { id: 'b1', client: 'c', target: 't:1', console: 'B' });
    assert.deepEqual([a1.closes.length, a2.closes.length], [1, 1]);
    r.add(b2, { id: 'b2', client: 'c', target: 't:1', console: 'B' });
    assert.deepEqual([b1.closes.length, b2.closes.length], [0, 0]);
    assert.deepEqual(counted, ['replaced', 'replaced']);
  });

  test('no limit: reserve always succeeds', () => {
    const { r } = registry(0);
    for (let i = 0; i < 5; i++) assert.ok(r.reserve('a:1'));
  });

  test('replace closes the oldest beyond the limit, once, and counts it', () => {
    const { r, counted } = registry(2, 'replace');
    const [a, b, c, d] = [new FakeRelay(), new FakeRelay(), new FakeRelay(), new FakeRelay()];
    r.add(a, { id: 'a', client: 'x', target: 't:1' });
    r.add(b, { id: 'b', client: 'x', target: 't:1' });
    r.add(c, { id: 'c', client: 'x', target: 't:1' });
    assert.deepEqual(a.closes, [{ code: 4001, reason: 'replaced by a newer session' }]);
    assert.deepEqual(b.closes, []);
    // `a` is still closing (not removed): it no longer counts, so `d` replaces `b` only.
    r.add(d, { id: 'd', client: 'x', target: 't:1' });
    assert.equal(a.closes.length, 1);
    assert.equal(b.closes.length, 1);
    assert.deepEqual(c.closes, []);
    assert.deepEqual(counted, ['replaced', 'replaced']);
  });

  test('list, closeById and closeByTarget', () => {
    const { r, counted } = registry();
    const [a, b, c] = [new FakeRelay(), new FakeRelay(), new FakeRelay()];
    r.add(a, { id: 'a', client: '10.0.0.1', target: 't:1', subject: 'alice' });
    r.add(b, { id: 'b', client: '10.0.0.2', target: 't:1', expiresAt: NOW + 1000 });
    r.add(c, { id: 'c', client: '10.0.0.3', target: 'u:2' });
    assert.deepEqual(r.list()[0], {
      id: 'a',
      client: '10.0.0.1',
      target: 't:1',
      subject: 'alice',
      started: new Date(NOW).toISOString(),
      bytesClientToTarget: 3,
      bytesTargetToClient: 5,
    });
    assert.equal(r.list()[1]!.expires, new Date(NOW + 1000).toISOString());
    assert.equal(r.closeById('nope'), undefined);
    assert.equal(r.closeById('c')!.id, 'c');
    assert.deepEqual(c.closes, [{ code: 1008, reason: 'closed by administrator' }]);
    assert.deepEqual(
      r.closeByTarget('t:1').map((s) => s.id),
      ['a', 'b'],
    );
    assert.equal(a.closes.length + b.closes.length, 2);
    assert.deepEqual(counted, ['admin', 'admin', 'admin']);
    r.remove(a);
    assert.deepEqual(
      r.list().map((s) => s.id),
      ['b', 'c'],
    );
    assert.equal(r.infoOf(a), undefined);
  });

  test('an already expired ticket closes at once; a later one when its time comes', async () => {
    let now = NOW;
    const counted: string[] = [];
    const r = new SessionRegistry<FakeRelay>({
      maxPerTarget: 0,
      policy: 'refuse',
      onProxyClose: (why) => counted.push(why),
      now: () => now,
    });
    const past = new FakeRelay();
    r.add(past, { id: 'p', client: 'x', target: 't:1', expiresAt: NOW - 1 }, true);
    assert.deepEqual(past.closes, [{ code: 1008, reason: 'ticket expired' }]);
    const soon = new FakeRelay();
    const notWatched = new FakeRelay();
    r.add(soon, { id: 's', client: 'x', target: 't:1', expiresAt: NOW + 30 }, true);
    r.add(notWatched, { id: 'n', client: 'x', target: 't:1', expiresAt: NOW + 30 }, false);
    now += 30;
    const deadline = Date.now() + 2000;
    while (soon.closes.length === 0 && Date.now() < deadline) {
      await sleep(10);
    }
    assert.deepEqual(soon.closes, [{ code: 1008, reason: 'ticket expired' }]);
    assert.deepEqual(notWatched.closes, [], 'endAtExpiry false: no timer');
    assert.deepEqual(counted, ['ticket_expired', 'ticket_expired']);
    r.close();
  });
});
