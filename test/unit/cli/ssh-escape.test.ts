/** The escape character of `secsh ssh`: recognised only after a newline, as ssh's process_escapes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EscapeFilter } from '../../../src/cli/ssh-escape.js';

function harness(esc = 0x7e, commandLine = true) {
  const sent: Buffer[] = [];
  const printed: string[] = [];
  const events: string[] = [];
  const commands: string[] = [];
  const f = new EscapeFilter(
    esc,
    {
      send: (d) => sent.push(Buffer.from(d)),
      print: (t) => printed.push(t),
      disconnect: () => events.push('disconnect'),
      suspend: () => events.push('suspend'),
      rekey: () => events.push('rekey'),
      sendBreak: () => events.push('break'),
      listConnections: () => 'LIST\r\n',
      command: async (line) => {
        commands.push(line);
        return 'Forwarding port.\r\n';
      },
    },
    commandLine,
  );
  return {
    f,
    sent: () => Buffer.concat(sent).toString('latin1'),
    printed: () => printed.join(''),
    events,
    commands,
  };
}

test('escape: ~. at the start of the session and after CR or LF disconnects; elsewhere it is data', () => {
  const a = harness();
  a.f.feed(Buffer.from('~.'));
  assert.deepEqual(a.events, ['disconnect']);
  assert.equal(a.sent(), '');
  assert.equal(a.printed(), '~.\r\n');

  const b = harness();
  b.f.feed(Buffer.from('echo a~.b'));
  assert.deepEqual(b.events, []);
  assert.equal(b.sent(), 'echo a~.b');

  const c = harness();
  c.f.feed(Buffer.from('ls\r'));
  c.f.feed(Buffer.from('~'));
  c.f.feed(Buffer.from('.'));
  assert.deepEqual(c.events, ['disconnect']);
  assert.equal(c.sent(), 'ls\r');
});

test('escape: ~~ sends one ~, an unknown ~x sends both, ~^Z suspends, ~R rekeys, ~B breaks, ~# lists', () => {
  const h = harness();
  h.f.feed(Buffer.from('~~\n~x\n~\x1a~R~B~#'));
  assert.equal(h.sent(), '~\n~x\n');
  assert.deepEqual(h.events, ['suspend', 'rekey', 'break']);
  assert.match(h.printed(), /~\^Z \[suspend ssh\]\r\n~R\r\n~B\r\n~#\r\nLIST\r\n$/);
});

test('escape: ~? prints the help; another escape character and its ^X name', () => {
  const h = harness();
  h.f.feed(Buffer.from('~?'));
  assert.match(h.printed(), /Supported escape sequences:\r\n ~\. {3}- terminate connection/);
  const c = harness(0x1d);
  c.f.feed(Buffer.from('\x1d?~.'));
  assert.match(c.printed(), / \^\]\. {3}- terminate connection/);
  assert.equal(c.sent(), '~.');
  assert.deepEqual(c.events, []);
});

test('escape: ~C reads a command line (backspace edits it) and holds later input until it is done', async () => {
  const h = harness();
  h.f.feed(Buffer.from('~C-L 80:h:8\x7f81\rafter'));
  assert.equal(h.sent(), '');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(h.commands, ['-L 80:h:81']);
  assert.equal(h.sent(), 'after');
  assert.equal(h.printed(), '\r\nssh> -L 80:h:8\b \b81\r\nForwarding port.\r\n');
});

test('escape: under EnableEscapeCommandline no, ~C says commandline disabled and ~? leaves it out', () => {
  const h = harness(0x7e, false);
  h.f.feed(Buffer.from('~C~?'));
  assert.equal(h.commands.length, 0);
  assert.match(h.printed(), /^commandline disabled\r\n~\?\r\nSupported escape sequences:/);
  assert.doesNotMatch(h.printed(), /open a command line/);
  assert.equal(h.sent(), '');
});
