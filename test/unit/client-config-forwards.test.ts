/** What setUpConfigForwards asks the client for, per ssh_config forward line (as ssh sends them). */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { setUpConfigForwards } from '../../src/client/config-forwards.js';
import { resolveSshConfig } from '../../src/config/index.js';
import type { Forward } from '../../src/forward/types.js';

function recorder() {
  const calls: Array<[string, unknown]> = [];
  const fake = (kind: 'local' | 'remote' | 'dynamic') => async (opts: unknown) => {
    calls.push([kind, opts]);
    return Object.assign(new EventEmitter(), {
      kind,
      address: { host: '127.0.0.1', port: 1 },
      stats: { accepted: 0, open: 0, failed: 0, bytesIn: 0, bytesOut: 0 },
      close: async () => {},
    }) as Forward;
  };
  return {
    calls,
    client: { forwardLocal: fake('local'), forwardRemote: fake('remote'), forwardDynamic: fake('dynamic') },
  };
}

test('RemoteForward without a bind host asks for localhost and `*` for every address, as ssh does; LocalForward binds loopback unless GatewayPorts', async () => {
  const text = [
    'Host h',
    '  RemoteForward 8080 localhost:80',
    '  RemoteForward *:8081 localhost:81',
    '  RemoteForward 10.0.0.1:8082 localhost:82',
    '  LocalForward 9000 db:5432',
    '  LocalForward *:9001 db:5432',
    '  DynamicForward 1080',
  ].join('\n');
  const local = { localUser: 'me', homeDir: '/home/me', localHostname: 'box' };
  const { calls, client } = recorder();
  await setUpConfigForwards(client, resolveSshConfig('h', { ...local, text }), () => {});
  assert.deepEqual(calls, [
    ['local', { bindHost: '127.0.0.1', bindPort: 9000, host: 'db', port: 5432 }],
    ['local', { bindHost: '0.0.0.0', bindPort: 9001, host: 'db', port: 5432 }],
    ['remote', { bindHost: 'localhost', bindPort: 8080, host: 'localhost', port: 80 }],
    ['remote', { bindHost: '', bindPort: 8081, host: 'localhost', port: 81 }],
    ['remote', { bindHost: '10.0.0.1', bindPort: 8082, host: 'localhost', port: 82 }],
    ['dynamic', { bindHost: '127.0.0.1', bindPort: 1080 }],
  ]);
  const gw = recorder();
  await setUpConfigForwards(
    gw.client,
    resolveSshConfig('h', { ...local, text: `${text}\n  GatewayPorts yes` }),
    () => {},
  );
  assert.deepEqual(gw.calls[0], ['local', { bindHost: '0.0.0.0', bindPort: 9000, host: 'db', port: 5432 }]);
});
