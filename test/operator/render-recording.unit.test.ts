/** spec.recording: the volume and mount of the Deployment and the proxy's --record-* settings. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../proxy/src/config/load.js';
import { CONFIG_KEY } from '../../operator/src/objects/mounts.js';
import { renderConfigMap, renderProxyConfig } from '../../operator/src/render/configmap.js';
import { renderDeployment } from '../../operator/src/render/deployment.js';
import { fixture } from './helpers.js';

const options = { operatorImage: 'registry.example.com/wsgate:1.2.3' };
type Spec = Parameters<typeof fixture>[0];
const pod = (spec: Spec) => renderDeployment(fixture(spec), options).spec.template.spec!;
const recordingVolume = (spec: Spec) => pod(spec).volumes!.find((v) => v.name === 'recordings');
const recordingMount = (spec: Spec) =>
  pod(spec).containers[0]!.volumeMounts!.find((m) => m.name === 'recordings');
const recordKeys = (spec: Spec) =>
  Object.fromEntries(
    Object.entries(renderProxyConfig(fixture(spec))).filter(([k]) => k.startsWith('record')),
  );

describe('spec.recording', () => {
  test('absent or disabled: no volume, no mount, no setting', () => {
    for (const spec of [{}, { recording: { enabled: false, input: false } }] as Spec[]) {
      assert.equal(recordingVolume(spec), undefined);
      assert.equal(recordingMount(spec), undefined);
      assert.deepEqual(recordKeys(spec), {});
    }
    assert.equal(
      fixture({ recording: {} }).spec.recording!.enabled,
      false,
      'enabled defaults to false',
    );
  });

  test('enabled with a PersistentVolumeClaim: mounted writable at /var/lib/wsgate/recordings', () => {
    const spec: Spec = {
      recording: { enabled: true, persistentVolumeClaim: { claimName: 'console-recordings' } },
    };
    assert.deepEqual(recordingVolume(spec), {
      name: 'recordings',
      persistentVolumeClaim: { claimName: 'console-recordings' },
    });
    assert.deepEqual(recordingMount(spec), {
      name: 'recordings',
      mountPath: '/var/lib/wsgate/recordings',
    });
    assert.deepEqual(recordKeys(spec), { recordDir: '/var/lib/wsgate/recordings' });
    // The root filesystem stays read-only: the recordings go to the volume only.
    assert.equal(pod(spec).containers[0]!.securityContext!.readOnlyRootFilesystem, true);
  });

  test('enabled without a volume: an emptyDir of 1Gi, or the size given', () => {
    assert.deepEqual(recordingVolume({ recording: { enabled: true } }), {
      name: 'recordings',
      emptyDir: { sizeLimit: '1Gi' },
    });
    assert.deepEqual(
      recordingVolume({ recording: { enabled: true, emptyDir: { sizeLimit: '5Gi' } } }),
      {
        name: 'recordings',
        emptyDir: { sizeLimit: '5Gi' },
      },
    );
  });

  test('privacy, limits and retention become the proxy settings, which the proxy accepts', () => {
    const spec: Spec = {
      recording: {
        enabled: true,
        when: 'ticket',
        input: false,
        maxBytes: 104857600,
        retentionSeconds: 604800,
      },
    };
    assert.deepEqual(recordKeys(spec), {
      recordDir: '/var/lib/wsgate/recordings',
      recordWhen: 'ticket',
      recordInput: false,
      recordMaxBytes: 104857600,
      recordRetention: 604800,
    });
    const yaml = renderConfigMap(fixture(spec)).data[CONFIG_KEY]!;
    const { config } = loadConfig({
      argv: ['--config', 'proxy.yaml'],
      env: {},
      readFile: () => yaml,
    });
    assert.equal(config.recordDir, '/var/lib/wsgate/recordings');
    assert.equal(config.recordWhen, 'ticket');
    assert.equal(config.recordInput, false);
    assert.equal(config.recordMaxBytes, 104857600);
    assert.equal(config.recordRetention, 604800);
  });

  test('turning recording on rolls the pods (the config hash changes)', () => {
    const hash = (spec: Spec) =>
      renderDeployment(fixture(spec), options).spec.template.metadata!.annotations![
        'wsgate.dev/config-hash'
      ];
    assert.notEqual(hash({}), hash({ recording: { enabled: true } }));
    assert.equal(hash({}), hash({ recording: { enabled: false } }));
  });
});
