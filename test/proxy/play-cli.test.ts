/** `wsgate play` as a subprocess: its errors, and what its server serves (and refuses). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runInNewContext } from 'node:vm';
import {
  ARRAY_OPEN,
  TRAILER,
  encodeFrame,
  encodeHeader,
} from '../../proxy/src/recording/format.js';
import { portOf, runWsgate, startWsgate, type Daemon } from '../helpers/cli.js';
import { stopProcess } from '../helpers/processes.js';

let dir: string;
let file: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsgate-play-'));
  file = join(dir, 'session.js');
  writeFileSync(
    file,
    Buffer.concat([
      encodeHeader({
        v: 1,
        session: 's-1',
        start: '2026-12-04T15:00:00.000Z',
        client: '192.0.2.1',
        target: '10.0.0.5:5900',
        subject: 'alice',
        protocol: 'vnc',
        input: false,
        durationMs: 1200,
      }),
      ARRAY_OPEN,
      encodeFrame(false, 0, Buffer.from('RFB 003.008\n')),
      TRAILER,
    ]),
  );
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('wsgate play', () => {
  test('usage errors exit 2 and name what is wrong', async () => {
    const none = await runWsgate(['play']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /give one recording FILE/);
    const speed = await runWsgate(['play', '--speed', '0', file]);
    assert.equal(speed.code, 2);
    assert.match(speed.stderr, /--speed: "0"/);
    const missing = await runWsgate(['play', join(dir, 'nope.js')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*nope\.js: ENOENT/);
    const flag = await runWsgate(['play', '--bogus', file]);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /--bogus/);
  });

  describe('serving a recording', () => {
    let play: Daemon;
    let base: string;
    before(async () => {
      play = startWsgate(['play', '--listen', '127.0.0.1:0', file]);
      const line = await play.waitFor((l) => l.msg === 'play listening');
      base = `http://127.0.0.1:${portOf(line)}`;
      assert.equal(line.url, base + '/');
      assert.equal(line.protocol, 'vnc');
    });
    after(() => stopProcess(play, 5000));

    test('the page, the header, the recording as written, and noVNC from the package', async () => {
      const page = await fetch(base + '/');
      assert.equal(page.status, 200);
      assert.match(await page.text(), /import RFB from '\/novnc\/core\/rfb\.js'/);
      const header = (await (await fetch(base + '/header.json')).json()) as Record<string, unknown>;
      assert.equal(header.subject, 'alice');
      assert.equal(header.durationMs, 1200);
      const rec = await fetch(base + '/recording.js');
      assert.match(rec.headers.get('content-type')!, /^text\/javascript/);
      assert.match(
        await rec.text(),
        /^\/\* wsgate-recording .*\nvar VNC_frame_data = \[\n'\{0\{RFB/s,
      );
      const rfb = await fetch(base + '/novnc/core/rfb.js');
      assert.equal(rfb.status, 200);
      assert.match(await rfb.text(), /export default class RFB/);
    });

    test('a file cut short by a full disk is served up to its last whole frame, as JavaScript', async () => {
      const cut = join(dir, 'cut.js');
      const whole = Buffer.concat([
        ARRAY_OPEN,
        encodeFrame(false, 0, Buffer.from('RFB 003.008\n')),
        encodeFrame(false, 5, Buffer.from('second frame')),
      ]);
      writeFileSync(cut, whole.subarray(0, whole.length - 6));
      const other = startWsgate(['play', '--listen', '127.0.0.1:0', cut]);
      try {
        const line = await other.waitFor((l) => l.msg === 'play listening');
        const text = await (await fetch(`http://127.0.0.1:${portOf(line)}/recording.js`)).text();
        const frames = runInNewContext(text + '\nVNC_frame_data') as string[];
        assert.deepEqual([...frames], ['{0{RFB 003.008\n', 'EOF']);
      } finally {
        await stopProcess(other, 5000);
      }
    });

    test('nothing else: not the package files outside core/ and vendor/, not other methods', async () => {
      for (const path of ['/novnc/package.json', '/novnc/..%2f..%2fpackage.json', '/etc/passwd']) {
        assert.equal((await fetch(base + path)).status, 404, path);
      }
      assert.equal((await fetch(base + '/', { method: 'POST' })).status, 405);
    });
  });
});
