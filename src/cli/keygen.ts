/**
 * `secsh keygen`: ssh-keygen's flags and messages — generate keys, change their passphrase or comment, print
 * fingerprints and public keys, convert to and from RFC 4716 / PKCS#8 / PEM, sign and show certificates,
 * SSHSIG signatures (`-Y`), and find, remove or hash known_hosts entries. Each mode lives in a
 * `keygen-*.ts` file loaded only when it runs.
 */
import type { Command } from './command.js';
import { getopt } from './getopt.js';
import type { KeygenOptions } from './keygen-common.js';
import { KeygenExit } from './keygen-common.js';

/** ssh-keygen's usage text, as secsh keygen prints it. */
export const KEYGEN_USAGE = `usage: secsh keygen [-q] [-a rounds] [-b bits] [-C comment] [-f output_keyfile]
                  [-m format] [-N new_passphrase] [-t dsa | ecdsa | ed25519 | rsa]
                  [-Z cipher]
       secsh keygen -p [-a rounds] [-f keyfile] [-m format] [-N new_passphrase]
                   [-P old_passphrase] [-Z cipher]
       secsh keygen -i [-f input_keyfile] [-m key_format]
       secsh keygen -e [-f input_keyfile] [-m key_format]
       secsh keygen -y [-f input_keyfile]
       secsh keygen -c [-a rounds] [-C comment] [-f keyfile] [-P passphrase]
       secsh keygen -l [-v] [-E fingerprint_hash] [-f input_keyfile]
       secsh keygen -B [-f input_keyfile]
       secsh keygen -F hostname [-lv] [-f known_hosts_file]
       secsh keygen -H [-f known_hosts_file]
       secsh keygen -R hostname [-f known_hosts_file]
       secsh keygen -r hostname [-g] [-f input_keyfile]
       secsh keygen -I certificate_identity -s ca_key [-hU] [-n principals]
                  [-O option] [-V validity_interval] [-z serial_number] file ...
       secsh keygen -L [-f input_keyfile]
       secsh keygen -A [-a rounds] [-f prefix_path]
       secsh keygen -k -f krl_file [-u] [-s ca_public] [-z version_number] file ...
       secsh keygen -Q -f krl_file [file ...]
       secsh keygen -Y find-principals -s signature_file -f allowed_signers_file
       secsh keygen -Y match-principals -I signer_identity -f allowed_signers_file
       secsh keygen -Y check-novalidate -n namespace -s signature_file
       secsh keygen -Y sign -f key_file -n namespace file [-O option] ...
       secsh keygen -Y verify -f allowed_signers_file -I signer_identity
                  -n namespace -s signature_file [-r krl_file] [-O option]
`;

/** Flags without a value (ssh-keygen's getopt string, less the ones secsh does not implement). */
const FLAGS = new Set('ABHLQUXceghiklopquvy'.split(''));
/** Flags with a value. */
const VALUED = new Set('CEFINOPRVYZabfmnrstz'.split(''));
/** ssh-keygen flags secsh keygen does not implement (PKCS#11, FIDO keys, moduli). */
const UNSUPPORTED = new Set('DKMw'.split(''));

function usageError(message: string): KeygenExit {
  return new KeygenExit(`${message}${message ? '\n' : ''}${KEYGEN_USAGE}`, 1);
}

function defaults(): KeygenOptions {
  return {
    quiet: false,
    verbose: 0,
    fingerprint: false,
    checkKrl: false,
    generic: false,
    genKrl: false,
    updateKrl: false,
    allHostKeys: false,
    bubblebabble: false,
    showCert: false,
    changePassphrase: false,
    changeComment: false,
    exportKey: false,
    importKey: false,
    printPublic: false,
    hashHosts: false,
    hostCert: false,
    preferAgent: false,
    rounds: undefined,
    bits: undefined,
    comment: undefined,
    hash: 'sha256',
    file: undefined,
    findHost: undefined,
    deleteHost: undefined,
    keyId: undefined,
    format: undefined,
    principals: undefined,
    newPassphrase: undefined,
    passphrase: undefined,
    options: [],
    caKey: undefined,
    type: undefined,
    validity: undefined,
    signOp: undefined,
    serial: undefined,
    cipher: undefined,
    revoked: undefined,
    args: [],
  };
}

function applyFlag(o: KeygenOptions, f: string): void {
  switch (f) {
    case 'H':
      o.hashHosts = true;
      break;
    case 'L':
      o.showCert = true;
      break;
    case 'B':
      o.bubblebabble = true;
      break;
    case 'Q':
      o.checkKrl = true;
      break;
    case 'k':
      o.genKrl = true;
      break;
    case 'u':
      o.updateKrl = true;
      break;
    case 'A':
      o.allHostKeys = true;
      break;
    case 'l':
      o.fingerprint = true;
      break;
    case 'p':
      o.changePassphrase = true;
      break;
    case 'c':
      o.changeComment = true;
      break;
    case 'q':
      o.quiet = true;
      break;
    case 'e':
      o.exportKey = true;
      break;
    case 'h':
      o.hostCert = true;
      break;
    case 'i':
    case 'X':
      o.importKey = true;
      break;
    case 'y':
      o.printPublic = true;
      break;
    case 'U':
      o.preferAgent = true;
      break;
    case 'v':
      o.verbose++;
      break;
    case 'g':
      o.generic = true;
      break;
    default: // -o: the new format is the default
      break;
  }
}

function positive(v: string, what: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 0xffff_ffff) fatal255(`${what} ${v}`);
  return Number(v);
}

function fatal255(message: string): never {
  throw new KeygenExit(message, 255);
}

function applyValue(o: KeygenOptions, f: string, v: string): void {
  switch (f) {
    case 'a':
      o.rounds =
        /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 0x7fff_ffff
          ? Number(v)
          : fatal255(`Invalid number: ${v} (${Number(v) < 1 ? 'too small' : 'invalid'})`);
      break;
    case 'b':
      o.bits = positive(v, 'Bits has bad value');
      break;
    case 'C':
      o.comment = v;
      break;
    case 'E': {
      const h = v.toLowerCase();
      if (h !== 'md5' && h !== 'sha1' && h !== 'sha256' && h !== 'sha384' && h !== 'sha512') {
        fatal255(`Invalid hash algorithm "${v}"`);
      }
      o.hash = h;
      break;
    }
    case 'F':
      o.findHost = v;
      break;
    case 'R':
      o.deleteHost = v;
      break;
    case 'I':
      o.keyId = v;
      break;
    case 'm': {
      const m = v.toUpperCase();
      if (m === 'RFC4716' || m === 'SSH2') o.format = 'RFC4716';
      else if (m === 'PKCS8' || m === 'PEM') o.format = m;
      else fatal255(`Unsupported conversion format "${v}"`);
      break;
    }
    case 'n':
      o.principals = v;
      break;
    case 'N':
      o.newPassphrase = v;
      break;
    case 'P':
      o.passphrase = v;
      break;
    case 'O':
      o.options.push(v);
      break;
    case 'Z':
      o.cipher = v;
      break;
    case 'f':
      o.file = v;
      break;
    case 's':
      o.caKey = v;
      break;
    case 't':
      o.type = v;
      break;
    case 'V':
      o.validity = v;
      break;
    case 'Y':
      o.signOp = v;
      break;
    case 'z':
      o.serial = v;
      break;
    case 'r':
      o.revoked = v;
      break;
  }
}

/** Parses ssh-keygen's options as its (BSD) getopt does: options end at the first operand or `--`. */
export function parseKeygenArgs(args: string[]): KeygenOptions {
  const o = defaults();
  const { next } = getopt(args, {
    withValue: VALUED,
    flags: new Set([...FLAGS, ...UNSUPPORTED]),
    onOption: (f, v) => {
      if (v !== undefined) applyValue(o, f, v);
      else if (UNSUPPORTED.has(f)) throw new KeygenExit(`secsh keygen: option -${f} is not supported`, 1);
      else applyFlag(o, f);
      return undefined;
    },
    error: usageError,
  });
  o.args = args.slice(next);
  return o;
}

async function dispatch(o: KeygenOptions): Promise<number> {
  if (o.signOp !== undefined) return (await import('./keygen-sshsig.js')).runSshsig(o);
  if (o.caKey !== undefined) {
    if (o.args.length < 1 && !o.genKrl) throw usageError('Too few arguments.');
  } else if (o.args.length > 0 && !o.checkKrl && !o.genKrl) {
    throw usageError('Too many arguments.');
  }
  if (o.changePassphrase && o.changeComment) throw usageError('Can only have one of -p and -c.');
  if (o.fingerprint && (o.deleteHost !== undefined || o.hashHosts)) {
    throw usageError('Cannot use -l with -H or -R.');
  }
  if (o.genKrl) return (await import('./keygen-krl.js')).generateKrl(o);
  if (o.checkKrl) return (await import('./keygen-krl.js')).checkKrl(o);
  if (o.caKey !== undefined) return (await import('./keygen-cert.js')).signCertificates(o);
  if (o.showCert) return (await import('./keygen-cert.js')).showCertificates(o);
  if (o.deleteHost !== undefined || o.hashHosts || o.findHost !== undefined) {
    return (await import('./keygen-known-hosts.js')).knownHosts(o);
  }
  if (o.fingerprint || o.bubblebabble) return (await import('./keygen-print.js')).printFingerprints(o);
  if (o.changePassphrase) return (await import('./keygen-generate.js')).changePassphrase(o);
  if (o.changeComment) return (await import('./keygen-generate.js')).changeComment(o);
  if (o.exportKey) return (await import('./keygen-convert.js')).exportKey(o);
  if (o.importKey) return (await import('./keygen-convert.js')).importKey(o);
  if (o.printPublic) return (await import('./keygen-print.js')).printPublic(o);
  if (o.revoked !== undefined) return (await import('./keygen-print.js')).printSshfp(o, o.revoked);
  if (o.allHostKeys) return (await import('./keygen-generate.js')).generateHostKeys(o);
  return (await import('./keygen-generate.js')).generate(o);
}

/** `secsh keygen`. */
export const keygenCommand: Command = {
  summary: 'generate, inspect and convert keys, certificates and signatures (like ssh-keygen)',
  async run(args: string[]): Promise<number> {
    if (args[0] === '--help') {
      process.stdout.write(KEYGEN_USAGE);
      return 0;
    }
    try {
      return await dispatch(parseKeygenArgs(args));
    } catch (e) {
      if (e instanceof KeygenExit) {
        if (e.message) process.stderr.write(`${e.message.replace(/\n$/, '')}\n`);
        return e.code;
      }
      const { PromptInterrupted } = await import('./prompt.js');
      if (e instanceof PromptInterrupted) return 1;
      process.stderr.write(`secsh keygen: ${e instanceof Error ? e.message : String(e)}\n`);
      return 255;
    }
  },
};
