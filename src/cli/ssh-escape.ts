/**
 * ssh's escape character state machine (clientloop.c's process_escapes): the escape character is
 * recognised only at the start of a line (after CR or LF, or at the session's start); `~.`, `~^Z`,
 * `~B`, `~R`, `~#`, `~?`, `~C` (a `ssh> ` command line, edited here in raw mode), `~~` sends one `~`,
 * and any other character after it is sent with the escape character in front.
 */

/** What the escapes do; the filter itself only parses bytes. */
export interface EscapeActions {
  /** Bytes for the remote side. */
  send(data: Buffer): void;
  /** Text for the local terminal (stderr), already with CR LF line ends. */
  print(text: string): void;
  disconnect(): void;
  suspend(): void;
  rekey(): void;
  sendBreak(): void;
  /** The `~#` listing (lines ending in CR LF). */
  listConnections(): string;
  /** A `~C` command line (without its newline); resolves with the reply text to print. */
  command(line: string): Promise<string>;
}

/** The printable form of the escape character: `~`, or `^X` for a control character. */
export function escapeName(c: number): string {
  return c < 32 ? `^${String.fromCharCode(c + 64)}` : String.fromCharCode(c);
}

/** The `~?` text, as ssh 9.2 prints it. */
export function escapeHelp(c: number, commandLine = true): string {
  const e = escapeName(c);
  const lines = [
    `${e}?`,
    'Supported escape sequences:',
    ` ${e}.   - terminate connection (and any multiplexed sessions)`,
    ` ${e}B   - send a BREAK to the remote system`,
    ` ${e}C   - open a command line`,
    ` ${e}R   - request rekey`,
    ` ${e}^Z  - suspend ssh`,
    ` ${e}#   - list forwarded connections`,
    ` ${e}?   - this message`,
    ` ${e}${e}   - send the escape character by typing it twice`,
    '(Note that escapes are only recognized immediately after newline.)',
    '',
  ];
  return (commandLine ? lines : lines.filter((l) => !l.startsWith(` ${e}C `))).join('\r\n');
}

/** The `~C` command line's help. */
export const COMMAND_LINE_HELP = [
  'Commands:',
  '      -L[bind_address:]port:host:hostport    Request local forward',
  '      -R[bind_address:]port:host:hostport    Request remote forward',
  '      -D[bind_address:]port                  Request dynamic forward',
  '      -KL[bind_address:]port                 Cancel local forward',
  '      -KR[bind_address:]port                 Cancel remote forward',
  '      -KD[bind_address:]port                 Cancel dynamic forward',
  '',
].join('\r\n');

/** Filters the local terminal's input for escapes. */
export class EscapeFilter {
  private lastWasNewline = true;
  private escapePending = false;
  /** The `~C` line being typed, or undefined. */
  private line: string | undefined;
  /** Input held while a `~C` command runs. */
  private held: Buffer[] = [];
  private busy = false;

  /** `commandLine` false: `~C` answers "commandline disabled" (EnableEscapeCommandline no). */
  constructor(
    private readonly escChar: number,
    private readonly actions: EscapeActions,
    private readonly commandLine = true,
  ) {}

  /** Feeds bytes typed on the local terminal. */
  feed(data: Buffer): void {
    if (this.busy) {
      this.held.push(data);
      return;
    }
    let out: number[] = [];
    const flush = () => {
      if (out.length > 0) this.actions.send(Buffer.from(out));
      out = [];
    };
    for (let i = 0; i < data.length; i++) {
      const ch = data[i] as number;
      if (this.line !== undefined) {
        if (this.editLine(ch)) {
          flush();
          const rest = data.subarray(i + 1);
          if (rest.length > 0) this.held.push(Buffer.from(rest));
          return;
        }
        continue;
      }
      if (this.escapePending) {
        this.escapePending = false;
        const e = escapeName(this.escChar);
        switch (ch) {
          case 0x2e: // .
            flush();
            this.actions.print(`${e}.\r\n`);
            this.actions.disconnect();
            return;
          case 0x1a: // ^Z
            flush();
            this.actions.print(`${e}^Z [suspend ssh]\r\n`);
            this.actions.suspend();
            continue;
          case 0x42: // B
            flush();
            this.actions.print(`${e}B\r\n`);
            this.actions.sendBreak();
            continue;
          case 0x52: // R
            flush();
            this.actions.print(`${e}R\r\n`);
            this.actions.rekey();
            continue;
          case 0x23: // #
            flush();
            this.actions.print(`${e}#\r\n${this.actions.listConnections()}`);
            continue;
          case 0x3f: // ?
            flush();
            this.actions.print(escapeHelp(this.escChar, this.commandLine));
            continue;
          case 0x43: // C
            flush();
            if (!this.commandLine) {
              this.actions.print('commandline disabled\r\n');
              continue;
            }
            this.actions.print('\r\nssh> ');
            this.line = '';
            continue;
          default:
            if (ch !== this.escChar) out.push(this.escChar);
            break;
        }
      } else if (this.lastWasNewline && ch === this.escChar) {
        this.escapePending = true;
        continue;
      }
      this.lastWasNewline = ch === 0x0d || ch === 0x0a;
      out.push(ch);
    }
    flush();
  }

  /** One byte of the `~C` line; true when the line ended and a command started. */
  private editLine(ch: number): boolean {
    const line = this.line as string;
    if (ch === 0x0d || ch === 0x0a) {
      this.line = undefined;
      this.actions.print('\r\n');
      const cmd = line.trim();
      if (cmd === '') return false;
      this.busy = true;
      this.actions
        .command(cmd)
        .catch((e: unknown) => `${e instanceof Error ? e.message : String(e)}\r\n`)
        .then((reply) => {
          if (reply) this.actions.print(reply);
          this.busy = false;
          const held = this.held;
          this.held = [];
          for (const b of held) this.feed(b);
        });
      return true;
    }
    if (ch === 0x03 || ch === 0x04) {
      // Ctrl-C / Ctrl-D: abandon the line.
      this.line = undefined;
      this.actions.print('\r\n');
      return false;
    }
    if (ch === 0x7f || ch === 0x08) {
      if (line.length > 0) {
        this.line = line.slice(0, -1);
        this.actions.print('\b \b');
      }
      return false;
    }
    if (ch === 0x15) {
      this.actions.print('\b \b'.repeat(line.length));
      this.line = '';
      return false;
    }
    if (ch >= 0x20 && line.length < 1024) {
      this.line = line + String.fromCharCode(ch);
      this.actions.print(String.fromCharCode(ch));
    }
    return false;
  }
}
