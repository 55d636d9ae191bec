/**
 * Real TCP peers for proxy tests, all on 127.0.0.1 with kernel-chosen ports: an echo
 * server, a VNC-like server that speaks first, a sink that never reads and a source
 * that writes as fast as it may. Each records its sockets so tests can inspect and
 * close them.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface TestServer {
  server: Server;
  port: number;
  sockets: Set<Socket>;
  close(): Promise<void>;
}

export async function startTcpServer(
  onSocket: (socket: Socket) => void,
  host = '127.0.0.1',
): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    sockets,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export const startEchoServer = () => startTcpServer((s) => s.pipe(s));

/** Sends an RFB-style greeting on connect, like a VNC server, then echoes. */
export const startGreetingServer = (greeting = 'RFB 003.008\n') =>
  startTcpServer((s) => {
    s.write(greeting);
    s.pipe(s);
  });

/** A port that refuses connections: bind, learn the port, close. */
export async function refusedPort(): Promise<number> {
  const srv = await startTcpServer(() => {});
  await srv.close();
  return srv.port;
}
