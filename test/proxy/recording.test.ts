/**
 * Session recording through the real proxy: real `ws` clients, real TCP targets, files
 * on real file systems (a 64 KiB tmpfs for a full and a read-only disk, a file size
 * limit via prlimit for EFBIG), read back with the format's parser.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { parseRecording, type ParsedRecording } from '../../proxy/src/recording/format.js';
import { startWsgate } from '../helpers/cli.js';
import { stopProcess } from '../helpers/processes.js';
import {
  closed,
  eventually,
  metricValue,
  openClient,
  receive,
  startTestProxy,
  type TestProxy,
} from '../helpers/proxy.js';
import { FrameReader, closePayload, frame, rawRequest, upgradeRequest } from '../helpers/raw.js';
import { startTcpServer, type TestServer } from '../helpers/servers.js';

/** Says RFB first, like a VNC server, then echoes. */
let vnc: TestServer;
let root: string;
let tokens: string;

before(async () => {
  vnc = await startTcpServer((s) => {
    s.write('RFB 003.008\n');
    s.pipe(s);
  });
  root = mkdtempSync(join(tmpdir(), 'wsgate-rec-'));
  tokens = join(root, 'tokens.txt');
  writeFileSync(tokens, `vm1: 127.0.0.1:${vnc.port}\n`);
});
after(async () => {
  await vnc.close();
  rmSync(root, { recursive: true, force: true });
});

function newDir(name: string): string {
  const d = join(root, name);
  mkdirSync(d);
  return d;
}

/** The one recording in `dir`, once its session has ended (its end is written). */
async function recordingIn(
  dir: string,
  done = (rec: ParsedRecording) => rec.header?.durationMs !== undefined && rec.complete,
): Promise<{ path: string; rec: ParsedRecording }> {
  return eventually(
    () => {
      const files = readdirSync(dir).filter((f) => f.endsWith('.js'));
      if (files.length !== 1) return undefined;
      const path = join(dir, files[0]!);
      const rec = parseRecording(readFileSync(path, 'latin1'));
      if (!done(rec)) return undefined;
      return { path, rec };
    },
    5000,
    `a finished recording in ${dir}`,
  );
}

const concat = (rec: ParsedRecording, fromClient: boolean) =>
  Buffer.concat(rec.frames.filter((f) => f.fromClient === fromClient).map((f) => f.data));

/** A session that sends `chunks` and waits for each to come back. */
async function echoSession(proxy: TestProxy, chunks: Buffer[], token = 'vm1'): Promise<Buffer> {
  const ws = await openClient(proxy.url(`/?token=${token}`), ['binary']);
  const received = [await receive(ws, 12)];
  for (const c of chunks) {
    ws.send(c);
    received.push(await receive(ws, c.length));
  }
  ws.close();
  await closed(ws);
  return Buffer.concat(received);
}

describe('recording a session', () => {
  test('writes one 0600 file in websockify format with the header and every byte relayed', async () => {
    const dir = newDir('basic');
    const proxy = await startTestProxy(['--token-file', tokens, '--record-dir', dir]);
    try {
      const sent = [Buffer.from('RFB 003.008\n'), randomBytes(70_000), Buffer.from([0x27, 0x5c])];
      const got = await echoSession(proxy, sent);
      const { path, rec } = await recordingIn(dir);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      const opened = proxy.logs.find((l) => l.msg === 'connection opened')!;
      assert.match(
        path,
        new RegExp(`wsgate-\\d{8}T\\d{6}\\.\\d{3}Z-${hostname()}-${opened.conn}\\.js$`),
      );
      const h = rec.header!;
      assert.equal(h.session, opened.conn);
      assert.equal(h.host, hostname());
      assert.equal(h.client, '127.0.0.1');
      assert.equal(h.target, `127.0.0.1:${vnc.port}`);
      assert.equal(h.protocol, 'vnc');
      assert.equal(h.input, true);
      assert.equal(h.truncated, undefined);
      assert.ok(!readFileSync(path, 'latin1').includes('vm1'), 'the token is not in the file');
      // Every byte, in order, each way.
      assert.ok(concat(rec, false).equals(got));
      assert.ok(concat(rec, true).equals(Buffer.concat(sent)));
      assert.deepEqual(h.bytes, { fromClient: Buffer.concat(sent).length, fromTarget: got.length });
      const times = rec.frames.map((f) => f.ms);
      assert.deepEqual(
        times,
        [...times].sort((a, b) => a - b),
        'times never go back',
      );
      assert.ok(h.durationMs! >= times.at(-1)!);
      const size = statSync(path).size;
      assert.equal(await metricValue(proxy.metricsUrl('/metrics'), 'wsgate_recordings_total'), 1);
      assert.equal(
        await metricValue(proxy.metricsUrl('/metrics'), 'wsgate_recording_bytes_total'),
        size,
      );
    } finally {
      await proxy.close();
    }
  });

  test('records a message that came in the same write as the upgrade request', async () => {
    const dir = newDir('with-upgrade');
    const proxy = await startTestProxy(['--token-file', tokens, '--record-dir', dir]);
    try {
      const early = Buffer.from('sent-with-the-upgrade');
      const request = Buffer.concat([
        Buffer.from(upgradeRequest('/?token=vm1')),
        frame({ opcode: 2, payload: early }),
      ]);
      const res = await rawRequest(proxy.address.port, request);
      assert.equal(res.status, 101);
      const reader = new FrameReader(res.socket!, res.rest);
      assert.ok(await reader.data(12 + early.length), 'the greeting and the echo came back');
      res.socket!.write(frame({ opcode: 8, payload: closePayload(1000) }));
      assert.notEqual(await reader.close(), 'timeout');
      res.socket!.destroy();
      const { rec } = await recordingIn(dir);
      assert.ok(concat(rec, true).equals(early));
      assert.ok(concat(rec, false).equals(Buffer.concat([Buffer.from('RFB 003.008\n'), early])));
    } finally {
      await proxy.close();
    }
  });

  test('--record-input=false writes no client payload, only what the target sent', async () => {
    const dir = newDir('no-input');
    const proxy = await startTestProxy([
      '--token-file',
      tokens,
      '--record-dir',
      dir,
      '--record-input=false',
    ]);
    try {
      const secret = Buffer.from('hunter2-password-typed');
      const got = await echoSession(proxy, [secret]);
      const { path, rec } = await recordingIn(dir);
      assert.equal(rec.header!.input, false);
      assert.equal(rec.frames.filter((f) => f.fromClient).length, 0);
      assert.deepEqual(rec.header!.bytes, { fromClient: 0, fromTarget: got.length });
      assert.ok(!readFileSync(path, 'latin1').includes("'}"), 'no client frame line');
      // The echo target sent the secret back: that part is the screen, and is recorded.
      assert.ok(concat(rec, false).equals(got));
    } finally {
      await proxy.close();
    }
  });

  test('--record-max-bytes stops the recording, marks it truncated, and the session goes on', async () => {
    const dir = newDir('max-bytes');
    const proxy = await startTestProxy([
      '--token-file',
      tokens,
      '--record-dir',
      dir,
      '--record-max-bytes',
      '8k',
    ]);
    try {
      const chunks = Array.from({ length: 8 }, () => randomBytes(4000));
      const got = await echoSession(proxy, chunks);
      assert.equal(got.length, 12 + 32_000, 'every byte relayed after the recording stopped');
      const { path, rec } = await recordingIn(dir);
      assert.ok(statSync(path).size <= 8192, `file is ${statSync(path).size} bytes`);
      assert.equal(rec.header!.truncated, 'max-bytes');
      assert.equal(rec.complete, true, 'the file still ends as a JavaScript array');
      assert.ok(got.subarray(0, concat(rec, false).length).equals(concat(rec, false)), 'a prefix');
      assert.equal(
        await metricValue(proxy.metricsUrl('/metrics'), 'wsgate_recordings_truncated_total'),
        1,
      );
      assert.ok(proxy.logs.some((l) => l.msg === 'recording truncated at --record-max-bytes'));
    } finally {
      await proxy.close();
    }
  });

  test('--record-when ticket records JWT sessions only when the ticket asks; token-file sessions always', async () => {
    const dir = newDir('when-ticket');
    const secret = randomBytes(32);
    const keyFile = join(root, 'jwt.key');
    writeFileSync(keyFile, secret);
    const proxy = await startTestProxy([
      '--token-file',
      tokens,
      '--jwt-key',
      keyFile,
      '--allow-target',
      '127.0.0.1/32',
      '--record-dir',
      dir,
      '--record-when',
      'ticket',
    ]);
    const ticket = (claims: Record<string, unknown>) =>
      new SignJWT({ host: '127.0.0.1', port: vnc.port, ...claims })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('1m')
        .sign(secret);
    try {
      await echoSession(proxy, [Buffer.from('a')], await ticket({ record: false, sub: 'bob' }));
      await echoSession(proxy, [Buffer.from('b')], await ticket({ record: true, sub: 'alice' }));
      await echoSession(proxy, [Buffer.from('c')], 'vm1');
      await eventually(() => proxy.logs.filter((l) => l.msg === 'connection closed').length === 3);
      const headers = await eventually(() => {
        const files = readdirSync(dir);
        const hs = files.map((f) => parseRecording(readFileSync(join(dir, f), 'latin1')).header!);
        return hs.length === 2 && hs.every((h) => h.durationMs !== undefined) ? hs : undefined;
      });
      assert.deepEqual(headers.map((h) => h.subject ?? null).sort(), ['alice', null].sort());
      // A malformed claim is a bad ticket, not a silent "no".
      await assert.rejects(
        openClient(proxy.url(`/?token=${await ticket({ record: 'yes' })}`)),
        /HTTP 401/,
      );
      const refused = proxy.logs.find((l) => l.msg === 'handshake refused')!;
      assert.equal(refused.detail, 'claim "record" invalid');
      assert.equal(readdirSync(dir).length, 2, 'the unrecorded session left no file');
    } finally {
      await proxy.close();
    }
  });

  test('--record-retention deletes old recordings, and only wsgate recordings', async () => {
    const dir = newDir('retention');
    const old = join(dir, 'wsgate-20260101T000000.000Z-old-1.js');
    const fresh = join(dir, 'wsgate-20261204T000000.000Z-new-1.js');
    const foreign = join(dir, 'notes.js');
    for (const f of [old, fresh, foreign]) writeFileSync(f, 'x');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(old, twoHoursAgo, twoHoursAgo);
    utimesSync(foreign, twoHoursAgo, twoHoursAgo);
    const proxy = await startTestProxy([
      '--token-file',
      tokens,
      '--record-dir',
      dir,
      '--record-retention',
      '1h',
    ]);
    try {
      await eventually(
        async () =>
          (await metricValue(proxy.metricsUrl('/metrics'), 'wsgate_recordings_expired_total')) ===
          1,
      );
      assert.deepEqual(readdirSync(dir).sort(), [
        'notes.js',
        'wsgate-20261204T000000.000Z-new-1.js',
      ]);
    } finally {
      await proxy.close();
    }
  });

  test('a --record-dir that cannot be a directory is a start-up error naming the flag', async () => {
    const notDir = join(root, 'plain-file');
    writeFileSync(notDir, '');
    await assert.rejects(
      startTestProxy(['--token-file', tokens, '--record-dir', notDir]),
      /--record-dir/,
    );
  });
});

describe('a failing disk never breaks a live session', () => {
  let mnt: string;
  before(() => {
    mnt = newDir('tmpfs');
    // A real full disk: 64 KiB of tmpfs (the tests run as root, as CI does).
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', mnt], {
      timeout: 10_000,
    });
  });
  after(() => {
    execFileSync('umount', [mnt], { timeout: 10_000 });
  });

  test('disk full (ENOSPC): recording stops with one log line and a metric; the session relays on', async () => {
    const proxy = await startTestProxy(['--token-file', tokens, '--record-dir', mnt]);
    try {
      const chunks = Array.from({ length: 40 }, () => randomBytes(8000));
      const got = await echoSession(proxy, chunks);
      assert.equal(got.length, 12 + 320_000, 'all 320 kB relayed although the disk holds 64 KiB');
      await eventually(
        async () =>
          (await metricValue(
            proxy.metricsUrl('/metrics'),
            'wsgate_recording_failures_total',
            'reason="ENOSPC"',
          )) === 1,
      );
      const stopped = proxy.logs.filter((l) => l.msg === 'recording stopped; the session goes on');
      assert.equal(stopped.length, 1);
      assert.equal(stopped[0]!.reason, 'ENOSPC');
      assert.ok(proxy.logs.some((l) => l.msg === 'connection closed' && l.closedBy === 'client'));
      // What reached the disk is still a readable recording, marked as cut.
      const { rec } = await recordingIn(mnt, (r) => r.header?.truncated !== undefined);
      assert.equal(rec.header!.truncated, 'ENOSPC');
      assert.ok(got.subarray(0, concat(rec, false).length).equals(concat(rec, false)));
    } finally {
      await proxy.close();
      for (const f of readdirSync(mnt)) rmSync(join(mnt, f));
    }
  });

  test('read-only disk (EROFS): the session opens and relays, the failure is counted', async () => {
    const proxy = await startTestProxy(['--token-file', tokens, '--record-dir', mnt]);
    execFileSync('mount', ['-o', 'remount,ro', mnt], { timeout: 10_000 });
    try {
      const got = await echoSession(proxy, [Buffer.from('still here')]);
      assert.equal(got.toString(), 'RFB 003.008\nstill here');
      await eventually(
        async () =>
          (await metricValue(
            proxy.metricsUrl('/metrics'),
            'wsgate_recording_failures_total',
            'reason="EROFS"',
          )) === 1,
      );
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', mnt], { timeout: 10_000 });
      await proxy.close();
    }
  });

  test('file size limit (EFBIG, RLIMIT_FSIZE via prlimit): the CLI proxy lives on', async () => {
    const dir = newDir('fsize');
    const proxy = startPrlimited(dir);
    try {
      const line = await proxy.waitFor((l) => l.msg === 'proxy listening');
      const port = (line.listen as { port: number }).port;
      const fake = { url: (p: string) => `ws://127.0.0.1:${port}${p}` } as unknown as TestProxy;
      const chunks = Array.from({ length: 10 }, () => randomBytes(8000));
      const got = await echoSession(fake, chunks);
      assert.equal(got.length, 12 + 80_000);
      const stopped = await proxy.waitFor(
        (l) => l.msg === 'recording stopped; the session goes on',
      );
      assert.equal(stopped.reason, 'EFBIG');
      await proxy.waitFor((l) => l.msg === 'connection closed');
      assert.ok(statSync(join(dir, readdirSync(dir)[0]!)).size <= 32 * 1024);
    } finally {
      await stopProcess(proxy, 5000);
    }
  });
});

/** `wsgate proxy` under `prlimit --fsize=32768`: no file it writes may pass 32 KiB. */
function startPrlimited(dir: string) {
  return startWsgate(
    [
      'proxy',
      '--listen',
      '127.0.0.1:0',
      '--metrics-listen',
      '',
      '--allow-missing-origin',
      '--token-file',
      tokens,
      '--record-dir',
      dir,
    ],
    ['prlimit', '--fsize=32768'],
  );
}
