/** The `wsgate` executable: one binary, subcommands for the proxy, operator and tickets. */
import { packageVersion } from '../lib/version.js';
import { proxyCommand } from '../proxy/src/cli.js';

const USAGE = `Usage: wsgate <command> [options]

Commands:
  proxy      WebSocket-to-TCP relay for VNC/SPICE consoles (websockify compatible)
  token      mint a signed ticket (JWT) the proxy accepts
  play       replay a session recording (--record-dir) in the browser
  operator   Kubernetes operator for WebSocketProxy resources
  version    print wsgate's version (also --version)

Run "wsgate <command> --help" for a command's options.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'proxy':
      return proxyCommand(rest);
    case 'token': {
      const { tokenCommand } = await import('./token.js');
      return tokenCommand(rest);
    }
    case 'play': {
      const { playCommand } = await import('./play.js');
      return playCommand(rest);
    }
    case 'operator': {
      const { operatorCommand } = await import('../operator/src/main.js');
      return operatorCommand(rest);
    }
    case 'version':
    case '--version':
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`wsgate: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Long-running commands resolve only when done; let pending log writes flush.
    setImmediate(() => process.exit(code));
  },
  (err: unknown) => {
    process.stderr.write(`wsgate: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
