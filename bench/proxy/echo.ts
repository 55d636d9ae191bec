/**
 * The benchmark's TCP target, run in its own process: echoes every byte back with
 * stream backpressure, half-closes when the peer does, and prints `port=N` once
 * listening on 127.0.0.1 (port from argv[2], 0 picks one).
 */
import { createServer, type Socket } from 'node:net';

const port = Number(process.argv[2] ?? 0);
const server = createServer({ noDelay: true }, (socket: Socket) => {
  socket.on('error', () => {}); // resets are routine when clients are torn down
  socket.pipe(socket);
});
server.maxConnections = 1_000_000;
server.listen({ host: '127.0.0.1', port, backlog: 4096 }, () => {
  const addr = server.address();
  process.stdout.write(`port=${typeof addr === 'object' && addr ? addr.port : 0}\n`);
});
const quit = () => {
  server.close();
  process.exit(0);
};
process.on('SIGTERM', quit);
process.on('SIGINT', quit);
