/**
 * Pinned versions of every control-plane component, and how each is built from
 * its wrapper Go module under test/cluster/go/<name>/.
 *
 * To bump a version, change it here AND in that module's go.mod (then run
 * `go mod tidy` there and commit go.mod and go.sum). The cache key includes
 * both, so the next `up` rebuilds only the component that changed.
 */

export const KUBERNETES_VERSION = 'v1.36.3';
export const ETCD_VERSION = 'v3.6.14';
export const KWOK_VERSION = 'v0.8.0';
export const CERT_MANAGER_VERSION = 'v1.21.1';
export const HELM_VERSION = 'v4.2.4';

/** One binary: the Go package with its main, and the file name it is written to. */
export interface Target {
  readonly pkg: string;
  readonly bin: string;
}

/** Files copied out of a module in the Go module cache next to the binaries. */
export interface DataFiles {
  /** Module path, resolved through the wrapper module's go.mod. */
  readonly module: string;
  /** Files relative to the module root; a trailing "/*.yaml" copies a whole directory's YAML. */
  readonly files: readonly string[];
  /** Subdirectory of the component's cache directory. */
  readonly dest: string;
}

export interface Component {
  /** Also the wrapper module's directory name. */
  readonly name: string;
  readonly version: string;
  readonly targets: readonly Target[];
  /** -X stamps; "-s -w" is always added. */
  readonly stamps: readonly string[];
  readonly data?: DataFiles;
}

/**
 * k8s.io/component-base defaults gitVersion to "v0.0.0-master+$Format:%H$",
 * which /version would then report and Helm's kubeVersion check cannot parse.
 * Upstream's build stamps both packages below (hack/lib/version.sh).
 */
function kubeStamps(version: string): string[] {
  const minor = version.split('.')[1] ?? '0';
  return ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((p) => [
    `${p}.gitVersion=${version}`,
    `${p}.gitMajor=1`,
    `${p}.gitMinor=${minor}`,
    `${p}.gitTreeState=clean`,
  ]);
}

export const COMPONENTS: readonly Component[] = [
  {
    name: 'kube',
    version: KUBERNETES_VERSION,
    // One `go build` for all four shares the compile of k8s.io/kubernetes.
    targets: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'].map(
      (bin) => ({ pkg: `k8s.io/kubernetes/cmd/${bin}`, bin }),
    ),
    stamps: kubeStamps(KUBERNETES_VERSION),
  },
  {
    name: 'etcd',
    version: ETCD_VERSION,
    // The server module's root package is etcd's main.
    targets: [{ pkg: 'go.etcd.io/etcd/server/v3', bin: 'etcd' }],
    stamps: [],
  },
  {
    name: 'kwok',
    version: KWOK_VERSION,
    targets: [{ pkg: 'sigs.k8s.io/kwok/cmd/kwok', bin: 'kwok' }],
    stamps: [],
    // The kwok binary has no default stages (kwokctl adds them); these are
    // the ones kwokctl uses, with node leases as the binary expects.
    data: {
      module: 'sigs.k8s.io/kwok',
      files: [
        'kustomize/stage/node/fast/node-initialize.yaml',
        'kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
        'kustomize/stage/pod/fast/pod-ready.yaml',
        'kustomize/stage/pod/fast/pod-complete.yaml',
        'kustomize/stage/pod/fast/pod-delete.yaml',
      ],
      dest: 'kwok-stages',
    },
  },
  {
    name: 'certmanager',
    version: CERT_MANAGER_VERSION,
    // The project-owned main in the wrapper module itself (see its main.go).
    targets: [{ pkg: '.', bin: 'cert-manager-controller' }],
    stamps: [`github.com/cert-manager/cert-manager/pkg/util.AppVersion=${CERT_MANAGER_VERSION}`],
    // The CRDs that ship in the same module version.
    data: {
      module: 'github.com/cert-manager/cert-manager',
      files: ['deploy/crds/*.yaml'],
      dest: 'cert-manager-crds',
    },
  },
  {
    name: 'helm',
    version: HELM_VERSION,
    targets: [{ pkg: 'helm.sh/helm/v4/cmd/helm', bin: 'helm' }],
    // Without it helm reports only "v4.2".
    stamps: [`helm.sh/helm/v4/internal/version.version=${HELM_VERSION}`],
  },
];
