/**
 * Bad command lines through the real CLI program: every command of `buildProgram()` (read from
 * the program itself, so new commands are covered), with random options and arguments plus at
 * least one thing that must fail parsing (an unknown option, a value its parser rejects, a
 * missing value, a missing mandatory option or argument, an extra argument, an unknown command).
 * Each run ends in a usage error naming what is wrong, before any action runs (so no service is
 * ever contacted); main() maps it to exit status 2; the installed binary does the same.
 */
import type { Command, Option } from 'commander';
import { CommanderError } from 'commander';
import fc from 'fast-check';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { buildProgram, main } from '../../src/cli/main';
import { parsePort, parsePositiveInt } from '../../src/cli/options';
import { runCliAsync } from '../helpers/cli';
import { FUZZ_SEED, fuzzTarget } from './fuzz-support';

interface Leaf {
  path: string[];
  command: Command;
}

/** Every runnable command, by the words that select it (`models promote`). */
function leaves(cmd: Command, path: string[] = []): Leaf[] {
  const subs = cmd.commands as Command[];
  if (subs.length === 0) return [{ path, command: cmd }];
  return subs.flatMap((c) => leaves(c, [...path, c.name()]));
}

const LEAVES = leaves(buildProgram());
const optionsOf = (c: Command) => (c.options as Option[]).filter((o) => o.long !== '--help' && o.long !== '--version');
const argumentsOf = (c: Command) => c.registeredArguments;

/** Words that are no option of any command and no command. */
const unknownWord = fc.stringMatching(/^[a-z][a-z-]{0,12}$/).filter((w) => !LEAVES.some((l) => l.path.includes(w) || optionsOf(l.command).some((o) => o.long === `--${w}` || o.long === `--no-${w}`)) && !['help', 'version'].includes(w));

/** Values a user might type; which a validating parser rejects is asked of the parser itself. */
const typedValue = fc.oneof(
  fc.constantFrom('', ' ', '0', '-1', '1', '80', '8080', '65535', '65536', '99999', '1.5', '1e3', '1e309', 'NaN', 'Infinity', '0x50', '9'.repeat(30), 'abc', 'cpu', 'gpu', 'tpu', 'GPU', 'churn', 'Bad Name', 'prod', '9alias', 'x'.repeat(80)),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
);
/** Values no validating parser sees: plain, never starting with a dash. */
const plainValue = fc.stringMatching(/^[a-z0-9][a-z0-9._/-]{0,15}$/);

function accepts(o: Option, value: string): boolean {
  if (!o.parseArg) return true;
  try {
    (o.parseArg as (v: string, prev: unknown) => unknown)(value, undefined);
    return true;
  } catch {
    return false;
  }
}

type Poison =
  | { kind: 'unknown-option'; word: string }
  | { kind: 'bad-value'; option: number; value: string }
  | { kind: 'missing-value'; option: number }
  | { kind: 'missing-mandatory'; option: number }
  | { kind: 'missing-argument' }
  | { kind: 'extra-argument'; word: string }
  | { kind: 'unknown-command'; word: string };

const poison: fc.Arbitrary<Poison> = fc.oneof(
  fc.record({ kind: fc.constant('unknown-option' as const), word: unknownWord }),
  fc.record({ kind: fc.constant('bad-value' as const), option: fc.nat(), value: typedValue }),
  fc.record({ kind: fc.constant('missing-value' as const), option: fc.nat() }),
  fc.record({ kind: fc.constant('missing-mandatory' as const), option: fc.nat() }),
  fc.constant({ kind: 'missing-argument' as const }),
  fc.record({ kind: fc.constant('extra-argument' as const), word: plainValue }),
  fc.record({ kind: fc.constant('unknown-command' as const), word: unknownWord }),
);

interface Case {
  leaf: number;
  options: Array<{ option: number; value: string }>;
  args: string[];
  poisons: Poison[];
  shuffle: number;
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  leaf: fc.nat(),
  options: fc.array(fc.record({ option: fc.nat(), value: plainValue }), { maxLength: 4 }),
  args: fc.array(plainValue, { maxLength: 3 }),
  poisons: fc.array(poison, { minLength: 1, maxLength: 2 }),
  shuffle: fc.nat(),
});

/**
 * The argv of a case, and what a message about it may name. Options and arguments outside the
 * poisons are valid, so the usage error must come from a poison; a poison that does not apply to
 * the command (no mandatory option to leave out, say) is dropped, and the case is skipped when
 * none is left.
 */
function render(c: Case): { argv: string[]; names: string[] } | undefined {
  const { path, command } = LEAVES[c.leaf % LEAVES.length]!;
  const opts = optionsOf(command);
  const args = argumentsOf(command);
  const names: string[] = [];
  const valued = opts.filter((o) => o.required);
  const mandatory = opts.filter((o) => o.mandatory);
  const validated = valued.filter((o) => o.parseArg);
  let words = [...path];
  const optionWords: string[][] = [];
  let dropMandatory: Option | undefined;
  let tail: string[] = [];
  let unknownCommand = false;
  let missingArgument = false;
  let extra: string[] = [];

  for (const p of c.poisons) {
    switch (p.kind) {
      case 'unknown-option':
        optionWords.push([`--${p.word}`]);
        names.push(`--${p.word}`);
        break;
      case 'bad-value': {
        const o = validated[p.option % Math.max(1, validated.length)];
        if (!o || accepts(o, p.value) || p.value.startsWith('-')) break;
        optionWords.push([o.long!, p.value]);
        names.push(o.long!);
        break;
      }
      case 'missing-value': {
        const o = valued[p.option % Math.max(1, valued.length)];
        if (!o) break;
        tail = [o.long!];
        names.push(o.long!);
        break;
      }
      case 'missing-mandatory': {
        const o = mandatory[p.option % Math.max(1, mandatory.length)];
        if (!o) break;
        dropMandatory = o;
        names.push(o.long!);
        break;
      }
      case 'missing-argument':
        // Not with an extra argument: that one would fill the gap.
        if (!args.some((a) => a.required) || extra.length > 0) break;
        missingArgument = true;
        names.push(...args.filter((a) => a.required).map((a) => `'${a.name()}'`));
        break;
      case 'extra-argument':
        if (args.some((a) => a.variadic) || missingArgument) break;
        extra = [p.word];
        names.push(`'${command.name()}'`);
        break;
      case 'unknown-command':
        unknownCommand = true;
        names.push(`'${p.word}'`);
        words = [...path.slice(0, -1), p.word];
        break;
    }
  }
  if (names.length === 0) return undefined;
  if (unknownCommand) {
    // The parent's unknown subcommand is the only error left: options would be the parent's.
    return { argv: words, names };
  }
  // Valid options: values through their parsers; mandatory ones present unless poisoned.
  // A variadic option (`--origin <o...>`) takes the words after it too: only ever placed last.
  const variadic: string[][] = [];
  for (const { option, value } of c.options) {
    const o = opts[option % Math.max(1, opts.length)];
    if (!o || o === dropMandatory || o.variadic) continue;
    if (o.required) {
      if (!accepts(o, value)) continue;
      optionWords.push([o.long!, value]);
    } else optionWords.push([o.long!]);
  }
  for (const o of mandatory) {
    if (o === dropMandatory || optionWords.some((w) => w[0] === o.long)) continue;
    const value = ['cpu', 'churn', 'alice', 'spec.yaml', 'out.js'].find((v) => accepts(o, v));
    if (value === undefined) return undefined;
    (o.variadic ? variadic : optionWords).push([o.long!, value]);
  }
  const positional = args.filter((a) => !missingArgument || !a.required).map((a, i) => c.args[i] ?? `arg${i}`);
  if (missingArgument) positional.length = 0;
  // Options in any order among the arguments (commander takes both anywhere after the command).
  const rest: string[][] = [...optionWords, ...positional.map((p) => [p]), ...extra.map((e) => [e])];
  for (let i = rest.length - 1; i > 0; i--) {
    const j = (c.shuffle + i * 31) % (i + 1);
    [rest[i], rest[j]] = [rest[j]!, rest[i]!];
  }
  return { argv: [...words, ...rest.flat(), ...variadic.flat(), ...tail], names };
}

/**
 * Commands whose actions, should one run after all, only talk to Temporal or S3 (pointed at closed
 * ports below): the runs without the action guard stick to these. Others start services.
 */
const SAFE_COMMANDS = ['run', 'tune', 'status', 'models', 'approvals', 'approve', 'reject', 'monitor'];

class ActionReached extends Error {}

/** Parses argv with the real program; returns the usage error and everything it wrote. */
async function parse(argv: string[]): Promise<{ error: unknown; output: string }> {
  const program = buildProgram();
  let output = '';
  const capture = { writeOut: (s: string) => (output += s), writeErr: (s: string) => (output += s), outputError: (s: string, write: (s: string) => void) => write(s) };
  const all = (c: Command): Command[] => [c, ...(c.commands as Command[]).flatMap(all)];
  for (const c of all(program)) c.configureOutput(capture);
  program.hook('preAction', () => {
    throw new ActionReached(`an action would run for: ${argv.join(' ')}`);
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return { error: undefined, output };
  } catch (error) {
    return { error, output };
  }
}

const namedIn = (text: string, names: string[]) => names.some((n) => text.includes(n));

describe('fuzz: CLI flags', () => {
  const target = fuzzTarget('cli');
  const restoreEnv = { ...process.env };
  afterAll(() => {
    process.env = restoreEnv;
  });

  it('the program knows its commands (the generator has something to work on)', () => {
    expect(LEAVES.map((l) => l.path.join(' '))).toEqual(expect.arrayContaining(['worker', 'run', 'approve', 'reject', 'serve', 'models promote']));
    expect(LEAVES.some((l) => optionsOf(l.command).some((o) => o.mandatory))).toBe(true);
    expect(LEAVES.some((l) => optionsOf(l.command).some((o) => o.parseArg))).toBe(true);
  });

  it('every bad command line fails parsing with a usage error naming the option, argument or command, before any action', async () => {
    const kinds = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const r = render(c);
        fc.pre(r !== undefined);
        target.hit();
        for (const p of c.poisons) kinds.set(p.kind, (kinds.get(p.kind) ?? 0) + 1);
        const { argv, names } = r;
        const { error, output } = await parse(argv);
        expect(error, `argv ${JSON.stringify(argv)} parsed without an error`).toBeDefined();
        expect(error, `argv ${JSON.stringify(argv)}: ${String(error)}`).toBeInstanceOf(CommanderError);
        const e = error as CommanderError;
        expect(e.exitCode).not.toBe(0);
        expect(namedIn(e.message, names), `${JSON.stringify(argv)}: "${e.message}" names none of ${names.join(', ')}`).toBe(true);
        expect(output).toContain(e.message);
      }),
      target.params(250),
    );
    for (const kind of ['unknown-option', 'bad-value', 'missing-value', 'missing-mandatory', 'missing-argument', 'extra-argument', 'unknown-command']) {
      expect(kinds.get(kind) ?? 0, kind).toBeGreaterThan(0);
    }
  });

  it('main() turns each of them into exit status 2 and one message, never "unexpected error"', async () => {
    // Should an action run after all, it fails fast against closed ports instead of finding services.
    process.env.TEMPORAL_ADDRESS = '127.0.0.1:1';
    process.env.MLCYCLE_S3_ENDPOINT = 'http://127.0.0.1:1';
    const safe = (argv: string[]) => SAFE_COMMANDS.includes(argv[0] ?? '');
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const r = render(c);
        fc.pre(r !== undefined && safe(r.argv));
        target.hit();
        let stderr = '';
        const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
          stderr += String(chunk);
          return true;
        });
        const previous = process.exitCode;
        try {
          await main(['node', 'mlcycle', ...r.argv]);
          expect(process.exitCode, `${JSON.stringify(r.argv)}: ${stderr}`).toBe(2);
        } finally {
          spy.mockRestore();
          process.exitCode = previous;
        }
        expect(stderr).not.toContain('unexpected error');
        expect(namedIn(stderr, r.names), `${JSON.stringify(r.argv)}: ${stderr}`).toBe(true);
      }),
      target.params(60),
    );
  });

  it('the number parsers accept only whole numbers in range, whatever is typed', () => {
    fc.assert(
      fc.property(fc.oneof(typedValue, fc.integer().map(String), fc.double().map(String)), (typed) => {
        target.hit();
        for (const [parser, lo, hi] of [
          [parsePort, 1, 65535],
          [parsePositiveInt, 1, Number.MAX_SAFE_INTEGER],
        ] as const) {
          let value: number | undefined;
          try {
            value = parser(typed);
          } catch (err) {
            expect((err as Error).message).toContain(`got "${typed}"`);
            continue;
          }
          expect(Number.isInteger(value)).toBe(true);
          expect(value).toBeGreaterThanOrEqual(lo);
          expect(value).toBeLessThanOrEqual(hi);
        }
      }),
      target.params(300),
    );
  });

  it('the installed CLI (a child process) exits 2 naming the problem for a sample of them', async () => {
    const samples = fc
      .sample(caseArb, { numRuns: 200, seed: FUZZ_SEED })
      .map(render)
      .filter((r): r is { argv: string[]; names: string[] } => r !== undefined && SAFE_COMMANDS.includes(r.argv[0] ?? ''))
      .slice(0, 4);
    expect(samples.length).toBe(4);
    const results = await Promise.all(samples.map((s) => runCliAsync(s.argv, { TEMPORAL_ADDRESS: '127.0.0.1:1', MLCYCLE_S3_ENDPOINT: 'http://127.0.0.1:1' }, 120_000)));
    for (const [i, r] of results.entries()) {
      target.hit();
      const s = samples[i]!;
      expect(r.code, `${JSON.stringify(s.argv)}: ${r.stderr}`).toBe(2);
      expect(r.stderr).not.toContain('unexpected error');
      expect(namedIn(r.stderr, s.names), `${JSON.stringify(s.argv)}: ${r.stderr}`).toBe(true);
    }
  });
});
