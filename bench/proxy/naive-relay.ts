/**
 * The naive relay baseline: what a few lines of `ws` give — accept, look the token up in
 * a websockify token file, pipe messages both ways. No limits, no backpressure, no
 * metrics: the floor a WebSocket library sets, to hold wsgate's relay against.
 *
 *   node naive-relay.js PORT TOKEN_FILE
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { WebSocketServer, type RawData } from 'ws';

const [port, tokenFile] = process.argv.slice(2);
const targets = new Map<string, { host: string; port: number }>();
for (const line of readFileSync(tokenFile!, 'utf8').split('\n')) {
  const m = /^\s*([^:#\s]+)\s*:\s*(\S+):(\d+)\s*$/.exec(line);
  if (m) targets.set(m[1]!, { host: m[2]!, port: Number(m[3]) });
}

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: Number(port),
  perMessageDeflate: false,
  handleProtocols: (offered) => (offered.has('binary') ? 'binary' : false),
});
wss.on('connection', (ws, req) => {
  const target = targets.get(new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? '');
  if (!target) return ws.close(1008, 'unknown token');
  const tcp = connect({ ...target, noDelay: true });
  ws.on('message', (data: RawData) => tcp.write(data as Buffer));
  tcp.on('data', (chunk) => ws.send(chunk));
  ws.on('close', () => tcp.end());
  tcp.on('close', () => ws.close());
  ws.on('error', () => tcp.destroy());
  tcp.on('error', () => ws.terminate());
});
wss.on('listening', () => process.stdout.write(`listening port=${port}\n`));
