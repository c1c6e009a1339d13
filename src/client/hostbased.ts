/** The client facade's side of hostbased authentication: the auth layer's credentials from {@link HostbasedOptions}. */
import { hostname, userInfo } from 'node:os';
import type { HostbasedCredentials } from '../auth/hostbased.js';
import { InvalidArgumentError } from '../errors.js';
import type { HostbasedOptions } from './options.js';
import { toSigner } from './support.js';

/** The signer and names hostbased authentication uses, with the defaults filled in (host name, local user). */
export function hostbasedCredentials(o: HostbasedOptions, passphrase: string | undefined): HostbasedCredentials {
  const localHostname = o.localHostname ?? hostname();
  const localUsername = o.localUsername ?? userInfo().username;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  const bad = /[\u0000-\u001f\u007f]/;
  if (localHostname.replace(/\.$/, '') === '' || bad.test(localHostname))
    throw new InvalidArgumentError('hostbased.localHostname must be a non-empty host name');
  if (localUsername === '' || bad.test(localUsername))
    throw new InvalidArgumentError('hostbased.localUsername must be a non-empty user name');
  return { signer: toSigner(o.key, passphrase, o.certificate), localHostname, localUsername };
}
