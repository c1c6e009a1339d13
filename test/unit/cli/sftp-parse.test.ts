/** secsh sftp's parsers and formats: makeargv's words, prefixes, flags, destinations, sizes and the progress line. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { formatRate, formatSize, ProgressMeter } from '../../../src/cli/progress.js';
import { parseCommand, SftpArgError, splitWords, stripPrefixes, unescapeGlob } from '../../../src/cli/sftp-args.js';
import { componentRegExp } from '../../../src/cli/sftp-glob.js';
import { fmtScaled, strmode } from '../../../src/cli/sftp-ls.js';
import { parseSftpArgs, parseSftpUri, parseUserHostPath, SftpUsageError } from '../../../src/cli/sftp-options.js';

test('splitWords: quotes, backslashes and comments as makeargv; quoted glob characters stay escaped', () => {
  assert.deepEqual(splitWords(`get "a b" 'c d' e\\ f # gone`), ['get', 'a b', 'c d', 'e f']);
  assert.deepEqual(splitWords(`ls "st*r" st\\*r *.txt`), ['ls', 'st\\*r', 'st\\*r', '*.txt']);
  assert.deepEqual(splitWords(`x "a\\"b" '#'`), ['x', 'a"b', '#']);
  assert.equal(unescapeGlob('st\\*r\\\\'), 'st*r\\');
  assert.throws(() => splitWords('get "open'), SftpArgError);
});

test('stripPrefixes and parseCommand: - and @, flags, numeric arguments and sftp messages', () => {
  assert.deepEqual(stripPrefixes('  -@ls -l'), { rest: 'ls -l', ignoreErrors: true, noEcho: true });
  const g = parseCommand('get -pR a b');
  assert.equal(g?.name, 'get');
  assert.deepEqual([...(g?.flags ?? [])].sort(), ['R', 'p']);
  assert.deepEqual(g?.args, ['a', 'b']);
  assert.equal(parseCommand('chmod 755 x')?.number, 0o755);
  assert.equal(parseCommand('# only a comment'), undefined);
  assert.equal(parseCommand('!ls -l')?.shellCommand, 'ls -l');
  assert.throws(() => parseCommand('bogus'), { message: 'Invalid command.' });
  assert.throws(() => parseCommand('get -x a'), { message: 'get: Invalid flag -x' });
  assert.throws(() => parseCommand('chmod abc x'), {
    message: 'You must supply a numeric argument to the chmod command.',
  });
  assert.throws(() => parseCommand('rename a'), { message: 'You must specify two paths after a rename command.' });
});

test('destinations: user@host:path, [v6]:path and sftp:// URIs; flags and their errors', () => {
  assert.deepEqual(parseUserHostPath('me@host:/tmp/x'), { user: 'me', host: 'host', path: '/tmp/x' });
  assert.deepEqual(parseUserHostPath('[::1]:dir'), { host: '::1', path: 'dir' });
  assert.deepEqual(parseUserHostPath('host'), { host: 'host' });
  assert.deepEqual(parseSftpUri('sftp://me@h:2200/%2Ftmp/a%20b'), {
    user: 'me',
    host: 'h',
    port: 2200,
    path: '/tmp/a b',
  });
  const o = parseSftpArgs(['-B', '16k', '-R', '8', '-l', '800', '-P', '2022', '-b', '-', 'h:dir']);
  assert.ok(o !== 'help');
  assert.equal(o.bufferSize, 16384);
  assert.equal(o.requests, 8);
  assert.equal(o.limitKbit, 800);
  assert.equal(o.port, 2022);
  assert.equal(o.quiet, true);
  assert.ok(o.options.includes('BatchMode=yes'));
  assert.throws(() => parseSftpArgs(['-Z', 'h']), SftpUsageError);
  assert.throws(() => parseSftpArgs(['-B', '999999', 'h']), /out of range/);
  assert.throws(() => parseSftpArgs(['-S', 'prog', 'h']), /not supported/);
  assert.throws(() => parseSftpArgs([]), SftpUsageError);
  const late = parseSftpArgs(['me@h:/d', '-P', '2200', 'local', '-q']);
  assert.ok(late !== 'help');
  assert.deepEqual(
    [late.user, late.host, late.path, late.port, late.localTarget, late.quiet],
    ['me', 'h', '/d', 2200, 'local', true],
  );
  const ended = parseSftpArgs(['--', 'h:-file']);
  assert.ok(ended !== 'help');
  assert.equal(ended.path, '-file');
});

test('formats: strmode, fmt_scaled, the progress meter sizes and rates, glob components', () => {
  assert.equal(strmode(0o104755), '-rwsr-xr-x ');
  assert.equal(strmode(0o41777), 'drwxrwxrwt ');
  assert.equal(strmode(0o120777), 'lrwxrwxrwx ');
  assert.equal(fmtScaled(6), '6B');
  assert.equal(fmtScaled(40000), '39.1K');
  assert.equal(fmtScaled(4096), '4.0K');
  assert.equal(fmtScaled(3 * 1024 * 1024 + 17), '3.0M');
  assert.equal(fmtScaled(0), '0B');
  assert.equal(formatSize(999), ' 999  ');
  assert.equal(formatSize(10_000_000), '9766KB');
  assert.equal(formatRate(4.5 * 1024 * 1024), '  4.5MB');
  assert.equal(formatRate(0), '  0.0KB');
  assert.ok(componentRegExp('a[!b]*.t?t').test('ax-y.txt'));
  assert.ok(!componentRegExp('a[!b]*').test('ab'));
  assert.ok(componentRegExp('st\\*r').test('st*r'));
  assert.ok(!componentRegExp('st\\*r').test('stxr'));
});

test('ProgressMeter: one line per redraw, the name padded to the width less 35, 100% and a newline when done', () => {
  const out = new PassThrough();
  Object.assign(out, { columns: 60 });
  let text = '';
  out.on('data', (c: Buffer) => {
    text += c.toString();
  });
  const m = new ProgressMeter('file.bin', 1000, out);
  m.update(1000);
  m.done();
  m.done();
  const lines = text.split('\r').filter((l) => l !== '');
  assert.equal(lines.length, 2);
  assert.match(lines[0] as string, /^file\.bin {17} {3}0% {4}0 /);
  assert.match(lines[1] as string, /^file\.bin {17} 100% 1000 +\S+\/s +00:00 {4}\n$/);
});
