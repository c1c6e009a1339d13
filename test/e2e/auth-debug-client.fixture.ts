/**
 * Run by auth-debug-output.test.ts under NODE_DEBUG=secsh: logs in to 127.0.0.1:$PORT as alice with the
 * key in $BAD_KEY (OpenSSH text), the key file $GOOD_KEY_PATH and the password 'secret-pw', runs one
 * command and prints its output.
 */
import { Client } from '../../src/client/client.js';
import { parsePrivateKey } from '../../src/keys/index.js';

const env = process.env;
const c = await Client.connect({
  host: '127.0.0.1',
  port: Number(env.PORT),
  username: 'alice',
  privateKey: parsePrivateKey(env.BAD_KEY ?? ''),
  privateKeyPath: env.GOOD_KEY_PATH ?? '',
  password: 'secret-pw',
  insecureAcceptAnyHostKey: true,
});
process.stdout.write((await c.exec('x')).stdout);
await c.close();
