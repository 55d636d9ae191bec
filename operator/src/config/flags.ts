/**
 * The flags of `wsgate operator` in one table: parseArgs options, defaults, the environment
 * variables that stand in for a flag, the `--help` text and the flags table in
 * operator/README.md (scripts/gen-operator-flags.mjs writes it; `npm run gen:check` keeps it
 * true) all come from here. Checks that need more than one flag stay in main.ts.
 *
 * No value imports: the generator loads this file with Node's type stripping, without a build.
 */

/** One flag. Markdown (backticks) in `defaultText` and `meaning` is plain text in --help. */
export interface OperatorFlag {
  /** Without the leading `--`. */
  name: string;
  type: 'string' | 'boolean';
  multiple?: true;
  short?: string;
  /** Other names parsed as the same flag (listed in `meaning`, not in the tables). */
  aliases?: readonly string[];
  /** Placeholder of the value in the tables: FILE, NS, D... */
  arg?: string;
  /** Environment variable read when the flag is not given. */
  env?: string;
  /** Value the parser uses when neither the flag nor `env` is given. */
  fallback?: string;
  /** The default as the tables show it (markdown); empty when there is none. */
  defaultText: string;
  /** One line for --help. */
  help: string;
  /** The README's explanation (markdown). */
  meaning: string;
}

export const OPERATOR_FLAGS: readonly OperatorFlag[] = [
  {
    name: 'kubeconfig',
    type: 'string',
    arg: 'FILE',
    env: 'KUBECONFIG',
    defaultText: '`$KUBECONFIG`, `~/.kube/config`, in-cluster',
    help: 'kubeconfig',
    meaning: 'where the API server is and who the operator is, in that order of preference',
  },
  {
    name: 'namespace',
    type: 'string',
    multiple: true,
    aliases: ['watch-namespace'],
    arg: 'NS',
    defaultText: 'every namespace',
    help: 'watch only NS; repeat for several (also --watch-namespace)',
    meaning: 'watch only NS; repeatable; `--watch-namespace` is the same flag (the chart uses it)',
  },
  {
    name: 'leader-elect',
    type: 'boolean',
    defaultText: 'off',
    help: 'elect one leader through a Lease before reconciling (needed with more than one replica)',
    meaning:
      'campaign for a Lease and reconcile only while holding it; needed with more than one replica',
  },
  {
    name: 'leader-election-namespace',
    type: 'string',
    arg: 'NS',
    env: 'POD_NAMESPACE',
    defaultText: '`$POD_NAMESPACE`, else the service account namespace',
    help: 'namespace of the Lease',
    meaning: 'namespace of the Lease; required outside a cluster when `--leader-elect` is given',
  },
  {
    name: 'lease-name',
    type: 'string',
    arg: 'NAME',
    fallback: 'wsgate-operator',
    defaultText: '`wsgate-operator`',
    help: 'Lease name',
    meaning: 'Lease name (the RBAC grants only this name)',
  },
  {
    name: 'lease-duration',
    type: 'string',
    arg: 'D',
    fallback: '15s',
    defaultText: '`15s`',
    help: 'how long an unrenewed Lease holds',
    meaning: 'how long an unrenewed Lease holds before another candidate may take it',
  },
  {
    name: 'renew-deadline',
    type: 'string',
    arg: 'D',
    fallback: '10s',
    defaultText: '`10s`',
    help: 'the leader gives up after failing to renew this long',
    meaning: 'the leader gives up (exit 1) after failing to renew this long',
  },
  {
    name: 'retry-period',
    type: 'string',
    arg: 'D',
    fallback: '2s',
    defaultText: '`2s`',
    help: 'pause between election attempts',
    meaning:
      'pause between election attempts and between renewals; lease duration > renew deadline > retry period is required',
  },
  {
    name: 'metrics-listen',
    type: 'string',
    arg: 'HOST:PORT',
    fallback: '0.0.0.0:8080',
    defaultText: '`0.0.0.0:8080`',
    help: '/metrics, and /healthz and /readyz',
    meaning: '`/metrics`, and `/healthz` and `/readyz` unless `--health-listen` is given',
  },
  {
    name: 'health-listen',
    type: 'string',
    arg: 'HOST:PORT',
    defaultText: '',
    help: 'serve /healthz and /readyz here instead',
    meaning:
      'serve `/healthz` and `/readyz` here instead (the metrics listener then serves only `/metrics`)',
  },
  {
    name: 'metrics-secure',
    type: 'boolean',
    defaultText: 'off; the chart turns it on',
    help: 'serve /metrics over HTTPS, only to bearer tokens the API server authenticates (TokenReview) and allows get on /metrics (SubjectAccessReview); needs --health-listen',
    meaning:
      '`/metrics` over HTTPS, only to authenticated and authorized bearer tokens (see below); needs `--health-listen`',
  },
  {
    name: 'metrics-cert-dir',
    type: 'string',
    arg: 'DIR',
    defaultText: 'self-signed at start',
    help: 'tls.crt and tls.key for --metrics-secure',
    meaning:
      '`tls.crt` and `tls.key` (a mounted `kubernetes.io/tls` Secret) for `--metrics-secure`, read at start',
  },
  {
    name: 'image',
    type: 'string',
    arg: 'IMAGE',
    env: 'WSGATE_IMAGE',
    defaultText: '`$WSGATE_IMAGE`, else `wsgate:<package version>`',
    help: 'proxy image when spec.image is unset',
    meaning: 'proxy image for resources whose `spec.image` is unset',
  },
  {
    name: 'secrets-namespace',
    type: 'string',
    multiple: true,
    arg: 'NS',
    defaultText: 'none',
    help: 'watch Secrets (metadata only) in NS, so a Secret created or changed there reaches the resources naming it in seconds; repeatable (needs list and watch on Secrets in NS)',
    meaning:
      'watch Secrets (metadata only) in NS, so one created or changed there reaches the resources naming it in seconds; repeatable; needs `list`, `watch` there',
  },
  {
    name: 'poll-interval',
    type: 'string',
    arg: 'D',
    fallback: '5s',
    defaultText: '`5s`',
    help: 'look again this often at a resource waiting on something no watch reports: an issuer, or a Secret outside the --secrets-namespace list',
    meaning:
      'look again this often at a resource that waits on something no watch reports: an issuer, or a Secret outside the `--secrets-namespace` list',
  },
  {
    name: 'resync',
    type: 'string',
    arg: 'D',
    fallback: '10m',
    defaultText: '`10m`',
    help: 're-queue every resource this often',
    meaning:
      're-queue every resource this often (a safety net; watches and polling do the real work)',
  },
  {
    name: 'workers',
    type: 'string',
    arg: 'N',
    fallback: '4',
    defaultText: '`4`',
    help: 'concurrent reconciles, 1 to 64',
    meaning: 'concurrent reconciles, 1 to 64',
  },
  {
    name: 'log-level',
    type: 'string',
    arg: 'LEVEL',
    env: 'WSGATE_LOG_LEVEL',
    fallback: 'info',
    defaultText: '`$WSGATE_LOG_LEVEL`, else `info`',
    help: 'fatal, error, warn, info, debug, trace or silent',
    meaning:
      '`fatal`, `error`, `warn`, `info`, `debug`, `trace`, `silent`; logs are JSON lines (pino) on stdout',
  },
  {
    name: 'help',
    type: 'boolean',
    short: 'h',
    defaultText: '',
    help: 'show this help',
    meaning: 'print the usage and exit 0',
  },
];

function flag(name: string): OperatorFlag {
  const found = OPERATOR_FLAGS.find((f) => f.name === name);
  if (!found) throw new Error(`no operator flag --${name}`);
  return found;
}

/** The parser's default of `--name` (its `fallback`). */
export function fallback(name: string): string {
  const value = flag(name).fallback;
  if (value === undefined) throw new Error(`--${name} has no fallback`);
  return value;
}

/** The environment's value standing in for `--name`, if the table names a variable. */
export function fromEnv(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const variable = flag(name).env;
  return variable === undefined ? undefined : env[variable];
}

type ParseOption = { type: 'string' | 'boolean'; multiple?: boolean; short?: string };

/** The options for node:util parseArgs, aliases included. */
export function parseOptions(): Record<string, ParseOption> {
  const options: Record<string, ParseOption> = {};
  for (const f of OPERATOR_FLAGS) {
    const option: ParseOption = { type: f.type };
    if (f.multiple) option.multiple = true;
    for (const name of [f.name, ...(f.aliases ?? [])]) options[name] = { ...option };
    if (f.short) options[f.name] = { ...option, short: f.short };
  }
  return options;
}

/** How a flag is written in the tables: `-h, --help`, `--namespace NS`. */
export function synopsis(f: OperatorFlag): string {
  const long = `--${f.name}${f.arg ? ` ${f.arg}` : ''}`;
  return f.short ? `-${f.short}, ${long}` : long;
}

const plain = (markdown: string): string => markdown.replaceAll('`', '');

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

const HELP_COLUMN = 33;
const HELP_WIDTH = 92;

/** The `--help` text; `image` replaces `wsgate:<package version>` with the real default. */
export function usage(defaultImage: string): string {
  const rows = OPERATOR_FLAGS.map((f) => {
    const text = f.defaultText
      ? `${f.help} (default ${plain(f.defaultText).replace('wsgate:<package version>', defaultImage)})`
      : f.help;
    const [first = '', ...rest] = wrap(text, HELP_WIDTH - HELP_COLUMN);
    const head = `  ${synopsis(f)}`;
    const lines =
      head.length < HELP_COLUMN - 1
        ? [head.padEnd(HELP_COLUMN) + first]
        : [head, ' '.repeat(HELP_COLUMN) + first];
    return [...lines, ...rest.map((l) => ' '.repeat(HELP_COLUMN) + l)].join('\n');
  });
  return `Usage: wsgate operator [options]

Runs the Kubernetes operator for WebSocketProxy resources (wsgate.dev/v1alpha1).

${rows.join('\n')}

Durations: 500ms, 10s, 15m, 2h. The identity in the Lease is $POD_NAME, else the host name
plus a random suffix.
`;
}

/** The flags table of operator/README.md, aligned as Prettier aligns markdown tables. */
export function readmeTable(): string {
  const rows = [
    ['flag', 'default', 'meaning'],
    ...OPERATOR_FLAGS.map((f) => [
      f.short ? `\`-${f.short}\`, \`--${f.name}\`` : `\`${synopsis(f)}\``,
      f.defaultText,
      f.meaning,
    ]),
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const [header, ...body] = rows;
  return (
    [line(header!), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n') + '\n'
  );
}
