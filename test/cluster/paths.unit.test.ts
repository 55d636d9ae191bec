import assert from 'node:assert/strict';
import { test } from 'node:test';

import { kubeCacheDir } from './paths.js';

test('the kube binaries cache defaults to ~/.cache/wsgate/kube, outside the checkout', () => {
  assert.equal(kubeCacheDir({}, '/home/ada'), '/home/ada/.cache/wsgate/kube');
});

test('the kube binaries cache follows an absolute XDG_CACHE_HOME and ignores a relative one', () => {
  assert.equal(
    kubeCacheDir({ XDG_CACHE_HOME: '/var/cache/ada' }, '/home/ada'),
    '/var/cache/ada/wsgate/kube',
  );
  assert.equal(
    kubeCacheDir({ XDG_CACHE_HOME: 'rel/cache' }, '/home/ada'),
    '/home/ada/.cache/wsgate/kube',
  );
});

test('WSGATE_KUBE_CACHE overrides the kube binaries cache location', () => {
  assert.equal(
    kubeCacheDir({ WSGATE_KUBE_CACHE: '/srv/kube', XDG_CACHE_HOME: '/var/cache/ada' }, '/home/ada'),
    '/srv/kube',
  );
});
