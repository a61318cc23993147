// Lint: typescript-eslint's strict type-checked rules over everything TypeScript in the repo, plus
// the workflow sandbox's own rule (see the workflows block). `npm run lint` is clean; .ci/run runs it.
import { builtinModules } from 'node:module';
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.venv/', 'coverage/', 'python/', 'bin/', 'deploy/', '**/*.js', '**/*.mjs', '**/*.cjs', 'src/**/assembly/'] },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // Numbers, booleans and nullish values in messages are what the messages mean to show.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true, allowRegExp: true }],
      // noUncheckedIndexedAccess types every index as possibly undefined; the numeric kernels and
      // the tests assert presence with `!` where the index is in range by construction.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Style only: `(x) => void f(x)` and expression-bodied arrows returning void read fine.
      '@typescript-eslint/no-confusing-void-expression': 'off',
      // Values cross untyped boundaries (JSON from storage, workflow payloads, older checkpoints):
      // the checks the types call unnecessary are the defensive ones, kept on purpose.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // Interfaces (payload codecs, scorers, activity implementations) are async by contract;
      // an implementation that needs no await stays async rather than hand-building promises.
      '@typescript-eslint/require-await': 'off',
      // DuckDB's and the CSV parser's value unions include objects (dates, decimals, lists)
      // whose String() is the intended rendering.
      '@typescript-eslint/no-base-to-string': 'off',
      // `.catch((err: Error) => …)` where the call only rejects with Errors (SDK and fs calls).
      '@typescript-eslint/use-unknown-in-catch-callback-variable': 'off',
      // String()/Number() around values typed by a cast (caught errors, query strings) stay defensive.
      '@typescript-eslint/no-unnecessary-type-conversion': 'off',
      // A binding a closure reads before its one assignment (workflow progress queries) stays `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // A leading underscore marks a binding left out on purpose (rest-destructuring a field away).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
  {
    // SciPy's constants, copied digit for digit so the port can be compared line by line.
    // The port mirrors SciPy's control flow, dead stores included.
    files: ['src/stats/**/*.ts'],
    rules: { 'no-loss-of-precision': 'off', 'no-useless-assignment': 'off' },
  },
  {
    // AnyTrainer erases each engine's parameter type; the trainer contract of the module split
    // (issue 17) types it.
    files: ['src/training/trainers.ts'],
    rules: { '@typescript-eslint/no-unsafe-return': 'off', '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    // Tests and benches poke at parsed YAML/JSON documents and mocks on purpose.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-dynamic-delete': 'off',
      // expect(obj.method) and spies pass methods around without calling them.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // Workflow code runs in the deterministic sandbox: no Node built-ins, and nothing from src/ or
    // activities/ that does I/O except as types (activities are called through proxyActivities).
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'workflows run in the deterministic sandbox: no Node built-ins (do I/O in an activity)' })),
          patterns: [
            {
              regex: '(^|/)(activities(/|$)|src/(storage|registry|data|training|serving|stack|cli|client|worker|dev|cluster|notify|onnx|deploy|monitoring|demo)(/|$)|src/config/env$)',
              allowTypeImports: true,
              message: 'workflows may import this I/O module only as a type (`import type`); call it through an activity',
            },
          ],
        },
      ],
    },
  },
);
