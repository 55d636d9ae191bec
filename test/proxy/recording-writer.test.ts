/** RecordingWriter on real files: the relay's buffers may be reused, the disk may lag or refuse. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseRecording } from '../../proxy/src/recording/format.js';
import { RecordingWriter, type WriterOptions } from '../../proxy/src/recording/writer.js';

const dir = mkdtempSync(join(tmpdir(), 'wsgate-writer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** A writer to a new file in `dir`, with its callbacks recorded. */
function writer(extra: Partial<WriterOptions> = {}) {
  const events: string[] = [];
  let written = 0;
  const path = join(dir, `rec-${++n}.js`);
  const w = new RecordingWriter({
    path,
    header: { session: `s-${n}`, start: new Date().toISOString(), client: 'c', target: 't' },
    input: true,
    maxBytes: 0,
    maxBacklog: 16 * 1024 * 1024,
    onOpen: () => events.push('open'),
    onWritten: (b) => (written += b),
    onStop: (reason) => events.push(`stop ${reason}`),
    onClosed: () => events.push('closed'),
    ...extra,
  });
  return { w, path, events, written: () => written };
}

describe('RecordingWriter', () => {
  test('copies each buffer during the call: reusing it at once changes nothing written', async () => {
    const { w, path, written } = writer();
    const reused = Buffer.alloc(4);
    for (const word of ['RFB ', 'abcd', 'wxyz']) {
      reused.write(word);
      w.fromTarget(reused);
    }
    reused.fill(0);
    w.end();
    await w.closedPromise;
    const rec = parseRecording(readFileSync(path, 'latin1'));
    assert.deepEqual(
      rec.frames.map((f) => f.data.toString()),
      ['RFB ', 'abcd', 'wxyz'],
    );
    assert.equal(written(), statSync(path).size, 'bytes counted once each');
  });

  test('a disk slower than the session: past the backlog the recording stops, ending as valid JS', async () => {
    const { w, path, events } = writer({ maxBacklog: 64 * 1024 });
    // Synchronous calls: nothing can reach the disk in between, as with a stalled disk.
    for (let i = 0; i < 100; i++) w.fromTarget(Buffer.alloc(1024, 0x41));
    w.end();
    await w.closedPromise;
    assert.deepEqual(events, ['stop backlog', 'open', 'closed']);
    const rec = parseRecording(readFileSync(path, 'latin1'));
    assert.equal(rec.complete, true);
    assert.equal(rec.header!.truncated, 'backlog');
    assert.ok(rec.frames.length > 0 && rec.frames.length < 100, `${rec.frames.length} frames`);
  });

  test('a file that cannot be opened: one stop, closed, and later calls do nothing', async () => {
    const { w, events } = writer({ path: join(dir, 'missing', 'rec.js') });
    w.fromTarget(Buffer.from('RFB '));
    await w.closedPromise;
    w.fromClient(Buffer.from('x'));
    w.end();
    assert.deepEqual(events, ['stop ENOENT', 'closed']);
  });

  test('never overwrites an existing file', async () => {
    const first = writer();
    first.w.end();
    await first.w.closedPromise;
    const { w, events } = writer({ path: first.path });
    w.end();
    await w.closedPromise;
    assert.deepEqual(events, ['stop EEXIST', 'closed']);
  });
});
